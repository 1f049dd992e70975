// The storage decision of issue 15: what it costs to keep a batch durably and to remove it once
// delivered, with otlpd's own segment log (storage::DurableQueue) against the embedded stores a
// persistent queue could be built on instead: LMDB (one put + commit per batch, delete on done)
// and SQLite in WAL mode (INSERT + commit, DELETE on done). LMDB and SQLite are built in only
// when their development packages were found (liblmdb-dev, libsqlite3-dev: bench/CMakeLists.txt).
//
// Each iteration appends one batch (real OTLP trace bytes: 4 KiB or 64 KiB), then takes the oldest
// record and removes it, as a queue whose consumer keeps up does. The sync modes:
//   0 off     nothing is synced (DurableQueue fsync: false, MDB_NOSYNC, synchronous=OFF)
//   1 append  the append is durable when it returns; the removal is not synced (what otlpd's
//             queue does: a lost removal sends a batch twice, never loses one)
//   2 all     the removal is synced too (LMDB's and SQLite's defaults; not an option of otlpd's)
// With 4 threads, concurrent appends may share a sync (DurableQueue's group commit); LMDB and
// SQLite have one writer at a time, so their commits queue up behind each other.
//
// The files go to $OTLPD_STORAGE_BENCH_DIR (default /var/tmp/otlpd-storage-bench): put it on the
// disk you want to measure, not on a tmpfs. Run:
//   build-release/bench/otlpd_storage_choice_bench --benchmark_format=json
// (bench/persistent_queue.sh storage runs it and prints a table). Counters: ns per append+remove
// is 1e9 / items_per_second; bytes_per_second counts the payload; syncs/op where it is known.
#include <benchmark/benchmark.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>

#include "loadgen/requests.h"
#include "otlp/request.h"
#include "storage/durable_queue.h"

#ifdef OTLPD_HAVE_LMDB
#include <lmdb.h>
#endif
#ifdef OTLPD_HAVE_SQLITE
#include <sqlite3.h>
#endif

namespace otlpd {
namespace {

namespace fs = std::filesystem;

enum SyncMode { kOff = 0, kAppend = 1, kAll = 2 };

std::string bench_root() {
  const char* dir = std::getenv("OTLPD_STORAGE_BENCH_DIR");
  return dir && *dir ? dir : "/var/tmp/otlpd-storage-bench";
}

// A fresh, empty directory for one benchmark run.
std::string fresh_dir(const std::string& name) {
  const std::string dir = bench_root() + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A trace request of about `bytes` bytes of protobuf: the load generator's saturation spans
// (bench/loadgen/requests.h: 10 attributes, padded to 560 bytes, about 564 with their framing).
std::string make_payload(std::size_t bytes) {
  std::mt19937_64 rng(42);
  const int spans = static_cast<int>(std::max<std::size_t>(1, bytes / 564));
  return loadgen::trace_request(rng, {spans, 10, 560});
}

// The payload of each size, built once: protobuf bytes, and a Batch that holds them as the
// receiver hands them over (bytes kept alive by their owner, not decoded).
struct Payload {
  std::string bytes;
  Batch batch;
};

const Payload& payload(std::int64_t kib) {
  static std::mutex mutex;
  static std::map<std::int64_t, Payload> made;
  std::lock_guard lock(mutex);
  auto it = made.find(kib);
  if (it != made.end()) return it->second;
  Payload p;
  p.bytes = make_payload(static_cast<std::size_t>(kib) << 10);
  auto owner = std::make_shared<std::string>(p.bytes);
  std::string error;
  RequestPtr request = Request::receive(
      Signal::traces, WireBytes{reinterpret_cast<const std::uint8_t*>(owner->data()), owner->size(), owner}, &error);
  if (!request) throw std::runtime_error("the payload is not valid OTLP: " + error);
  p.batch = Batch::of(std::move(request));
  return made.emplace(kib, std::move(p)).first->second;
}

void finish(benchmark::State& state, double syncs) {
  const auto& p = payload(state.range(0));
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(p.bytes.size()));
  if (state.thread_index() == 0) {
    state.counters["payload_bytes"] = static_cast<double>(p.bytes.size());
    if (syncs >= 0) {
      state.counters["syncs/op"] = syncs / static_cast<double>(state.iterations() * state.threads());
    }
  }
}

// --- otlpd's storage::DurableQueue ----------------------------------------------------------

std::unique_ptr<storage::DurableQueue> g_queue;
std::uint64_t g_fsyncs_before = 0;

void durable_setup(const benchmark::State& state) {
  storage::QueueOptions options;
  options.directory = fresh_dir("durable_queue");
  options.fsync = state.range(1) != kOff;
  options.logger = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  // max_bytes: sending_queue::max_size_mib's default (64 MiB, so 8 MiB segments).
  storage::RecoveryReport report;
  std::string error;
  g_queue = storage::DurableQueue::open(options, &report, &error);
  if (!g_queue) throw std::runtime_error(error);
  g_fsyncs_before = g_queue->stats().fsyncs.load();
  payload(state.range(0));
}

void durable_teardown(const benchmark::State&) {
  const std::string dir = g_queue->directory();
  g_queue.reset();
  fs::remove_all(dir);
}

void BM_DurableQueue(benchmark::State& state) {
  const Batch& batch = payload(state.range(0)).batch;
  for (auto _ : state) {
    const auto appended = g_queue->append(batch);
    if (!appended.ok()) {
      state.SkipWithError(appended.message.c_str());
      break;
    }
    auto item = g_queue->take(std::chrono::milliseconds(0));
    if (!item) {
      state.SkipWithError("take() found nothing");
      break;
    }
    g_queue->done(item->id);
  }
  finish(state, static_cast<double>(g_queue->stats().fsyncs.load() - g_fsyncs_before));
}
BENCHMARK(BM_DurableQueue)
    ->ArgNames({"kib", "sync"})
    ->ArgsProduct({{4, 64}, {kOff, kAppend}})
    ->Setup(durable_setup)
    ->Teardown(durable_teardown)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(4);

// --- LMDB -----------------------------------------------------------------------------------
#ifdef OTLPD_HAVE_LMDB

struct Lmdb {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  std::uint64_t next_key = 1;
  std::mutex mutex;  // LMDB has one writer at a time anyway; this also keeps the flag switch below safe
};
std::unique_ptr<Lmdb> g_lmdb;

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw std::runtime_error(std::string(what) + ": " + mdb_strerror(rc));
}

void lmdb_setup(const benchmark::State& state) {
  g_lmdb = std::make_unique<Lmdb>();
  const std::string dir = fresh_dir("lmdb");
  check(mdb_env_create(&g_lmdb->env), "mdb_env_create");
  check(mdb_env_set_mapsize(g_lmdb->env, std::size_t{1} << 30), "mdb_env_set_mapsize");
  check(mdb_env_open(g_lmdb->env, dir.c_str(), MDB_NOTLS | (state.range(1) == kOff ? MDB_NOSYNC : 0), 0600),
        "mdb_env_open");
  MDB_txn* txn = nullptr;
  check(mdb_txn_begin(g_lmdb->env, nullptr, 0, &txn), "mdb_txn_begin");
  check(mdb_dbi_open(txn, nullptr, 0, &g_lmdb->dbi), "mdb_dbi_open");
  check(mdb_txn_commit(txn), "mdb_txn_commit");
  payload(state.range(0));
}

void lmdb_teardown(const benchmark::State&) {
  mdb_env_close(g_lmdb->env);
  g_lmdb.reset();
  fs::remove_all(bench_root() + "/lmdb");
}

void BM_Lmdb(benchmark::State& state) {
  const std::string& bytes = payload(state.range(0)).bytes;
  const auto mode = state.range(1);
  Lmdb& db = *g_lmdb;
  for (auto _ : state) {
    {
      std::lock_guard lock(db.mutex);
      MDB_txn* txn = nullptr;
      check(mdb_txn_begin(db.env, nullptr, 0, &txn), "mdb_txn_begin");
      std::uint64_t key = __builtin_bswap64(db.next_key++);  // big-endian: keys sort in append order
      MDB_val k{sizeof key, &key};
      MDB_val v{bytes.size(), const_cast<char*>(bytes.data())};
      check(mdb_put(txn, db.dbi, &k, &v, MDB_APPEND), "mdb_put");
      check(mdb_txn_commit(txn), "mdb_txn_commit");  // synced unless MDB_NOSYNC
    }
    {
      std::lock_guard lock(db.mutex);
      if (mode == kAppend) mdb_env_set_flags(db.env, MDB_NOSYNC, 1);  // this commit only
      MDB_txn* txn = nullptr;
      check(mdb_txn_begin(db.env, nullptr, 0, &txn), "mdb_txn_begin");
      MDB_cursor* cursor = nullptr;
      check(mdb_cursor_open(txn, db.dbi, &cursor), "mdb_cursor_open");
      MDB_val k, v;
      check(mdb_cursor_get(cursor, &k, &v, MDB_FIRST), "mdb_cursor_get");  // the oldest record
      benchmark::DoNotOptimize(v.mv_data);
      check(mdb_cursor_del(cursor, 0), "mdb_cursor_del");
      mdb_cursor_close(cursor);
      check(mdb_txn_commit(txn), "mdb_txn_commit");
      if (mode == kAppend) mdb_env_set_flags(db.env, MDB_NOSYNC, 0);
    }
  }
  finish(state, -1);
}
BENCHMARK(BM_Lmdb)
    ->ArgNames({"kib", "sync"})
    ->ArgsProduct({{4, 64}, {kOff, kAppend, kAll}})
    ->Setup(lmdb_setup)
    ->Teardown(lmdb_teardown)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(4);

#endif  // OTLPD_HAVE_LMDB

// --- SQLite (WAL) ---------------------------------------------------------------------------
#ifdef OTLPD_HAVE_SQLITE

struct Sqlite {
  sqlite3* db = nullptr;
  sqlite3_stmt *insert = nullptr, *oldest = nullptr, *remove = nullptr;
  std::mutex mutex;  // one connection, one writer at a time (as SQLite allows anyway)
};
std::unique_ptr<Sqlite> g_sqlite;

void check_sqlite(int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string(what) + ": " + (g_sqlite ? sqlite3_errmsg(g_sqlite->db) : sqlite3_errstr(rc)));
  }
}

void exec(const char* sql) { check_sqlite(sqlite3_exec(g_sqlite->db, sql, nullptr, nullptr, nullptr), sql); }

sqlite3_stmt* prepare(const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  check_sqlite(sqlite3_prepare_v2(g_sqlite->db, sql, -1, &stmt, nullptr), sql);
  return stmt;
}

void run(sqlite3_stmt* stmt, const char* what) {
  check_sqlite(sqlite3_step(stmt), what);
  sqlite3_reset(stmt);
}

void sqlite_setup(const benchmark::State& state) {
  g_sqlite = std::make_unique<Sqlite>();
  const std::string dir = fresh_dir("sqlite");
  check_sqlite(sqlite3_open((dir + "/queue.db").c_str(), &g_sqlite->db), "sqlite3_open");
  exec("PRAGMA journal_mode=WAL");
  exec(state.range(1) == kOff ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=FULL");
  exec("CREATE TABLE queue (id INTEGER PRIMARY KEY, batch BLOB NOT NULL)");
  g_sqlite->insert = prepare("INSERT INTO queue (batch) VALUES (?)");
  g_sqlite->oldest = prepare("SELECT id, batch FROM queue ORDER BY id LIMIT 1");
  g_sqlite->remove = prepare("DELETE FROM queue WHERE id = ?");
  payload(state.range(0));
}

void sqlite_teardown(const benchmark::State&) {
  for (sqlite3_stmt* s : {g_sqlite->insert, g_sqlite->oldest, g_sqlite->remove}) sqlite3_finalize(s);
  sqlite3_close(g_sqlite->db);
  g_sqlite.reset();
  fs::remove_all(bench_root() + "/sqlite");
}

void BM_SqliteWal(benchmark::State& state) {
  const std::string& bytes = payload(state.range(0)).bytes;
  const auto mode = state.range(1);
  Sqlite& db = *g_sqlite;
  for (auto _ : state) {
    {
      std::lock_guard lock(db.mutex);
      sqlite3_bind_blob(db.insert, 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
      run(db.insert, "INSERT");  // autocommit: one transaction, synced with synchronous=FULL
    }
    {
      std::lock_guard lock(db.mutex);
      check_sqlite(sqlite3_step(db.oldest), "SELECT");  // the oldest record, read as a consumer would
      const sqlite3_int64 id = sqlite3_column_int64(db.oldest, 0);
      benchmark::DoNotOptimize(sqlite3_column_blob(db.oldest, 1));
      sqlite3_reset(db.oldest);
      // This commit only. Not a prepared statement: PRAGMA synchronous takes effect when it is
      // compiled, so a prepared one would set it once, at prepare time, and never again.
      if (mode == kAppend) exec("PRAGMA synchronous=OFF");
      sqlite3_bind_int64(db.remove, 1, id);
      run(db.remove, "DELETE");
      if (mode == kAppend) exec("PRAGMA synchronous=FULL");
    }
  }
  finish(state, -1);
}
BENCHMARK(BM_SqliteWal)
    ->ArgNames({"kib", "sync"})
    ->ArgsProduct({{4, 64}, {kOff, kAppend, kAll}})
    ->Setup(sqlite_setup)
    ->Teardown(sqlite_teardown)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(4);

#endif  // OTLPD_HAVE_SQLITE

}  // namespace
}  // namespace otlpd

BENCHMARK_MAIN();
