#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace otlpd {

// Appends JSON to a string. Compact by default; with indent > 0 it lays objects out the way
// Python's json.dumps(indent=N) does ("key": value, one member per line, {} and [] when empty).
// The caller is responsible for well-formed nesting; the writer handles commas and escaping.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out, int indent = 0) : out_(out), indent_(indent) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  void key(std::string_view name) {
    separate();
    quote(name);
    out_ += indent_ ? ": " : ":";
    after_key_ = true;
  }

  void string(std::string_view value) { value_prefix(); quote(value); }
  void boolean(bool value) { value_prefix(); out_ += value ? "true" : "false"; }
  void null() { value_prefix(); out_ += "null"; }
  void number(std::int64_t value) { value_prefix(); decimal(value); }
  void number(std::uint64_t value) { value_prefix(); decimal(value); }
  void number(std::uint32_t value) { number(static_cast<std::uint64_t>(value)); }
  void number(std::int32_t value) { number(static_cast<std::int64_t>(value)); }
  // Non-finite doubles are written as the strings "NaN", "Infinity", "-Infinity" (proto3 JSON);
  // negative zero as -0.0, since "-0" reads back as the integer 0 and loses its sign.
  void number(double value) {
    value_prefix();
    if (std::isnan(value)) out_ += "\"NaN\"";
    else if (std::isinf(value)) out_ += value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    else if (value == 0 && std::signbit(value)) out_ += "-0.0";
    else fmt::format_to(std::back_inserter(out_), "{}", value);
  }
  // 64-bit integers as decimal strings, as OTLP/JSON requires.
  void int64_string(std::int64_t value) { value_prefix(); quoted_decimal(value); }
  void uint64_string(std::uint64_t value) { value_prefix(); quoted_decimal(value); }
  // Already-encoded JSON (must be a single value).
  void raw(std::string_view json) { value_prefix(); out_ += json; }

  static void escape(std::string& out, std::string_view text) {
    // Copy runs of characters that need no escaping in one go, finding the next one that does
    // eight bytes at a time.
    std::size_t run = 0;
    std::size_t i = 0;
    for (;;) {
      i = next_to_escape(text, i);
      if (i == text.size()) break;
      const auto c = static_cast<unsigned char>(text[i]);
      out.append(text.data() + run, i - run);
      run = ++i;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default: fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
      }
    }
    out.append(text.data() + run, text.size() - run);
  }

  // The index of the first character at or after `from` that JSON strings must escape (a
  // control character, '"' or '\\'), or text.size().
  static std::size_t next_to_escape(std::string_view text, std::size_t from) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
    std::size_t i = from;
    for (; text.size() - i >= 8; i += 8) {  // (i <= size; "i + 8 <= size" misled GCC 12's -Warray-bounds at -O3)
      std::uint64_t w;
      std::memcpy(&w, text.data() + i, 8);
      // A byte below 0x20, or equal to '"' or '\\' (exact: no false positives for bytes >= 0x80).
      const std::uint64_t below = (w - kOnes * 0x20) & ~w;
      const std::uint64_t quote = w ^ (kOnes * '"'), backslash = w ^ (kOnes * '\\');
      const std::uint64_t hit = (below | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash)) & kHighs;
      if (hit) break;
    }
    for (; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x20 || c == '"' || c == '\\') return i;
    }
    return i;
  }

 private:
  template <typename Integer>
  void decimal(Integer value) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    out_.append(digits, static_cast<std::size_t>(end - digits));
  }
  template <typename Integer>
  void quoted_decimal(Integer value) {
    out_ += '"';
    decimal(value);
    out_ += '"';
  }
  void quote(std::string_view text) {
    out_ += '"';
    escape(out_, text);
    out_ += '"';
  }
  void newline() {
    out_ += '\n';
    out_.append(static_cast<std::size_t>(indent_) * first_.size(), ' ');
  }
  // Comma (and, when indenting, a line break) before a member or element.
  void separate() {
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    if (indent_) newline();
    first_.back() = false;
  }
  void value_prefix() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    separate();
  }
  void open(char bracket) {
    value_prefix();
    out_ += bracket;
    first_.push_back(true);
  }
  void close(char bracket) {
    const bool empty = first_.back();
    first_.pop_back();
    if (indent_ && !empty) newline();
    out_ += bracket;
  }

  std::string& out_;
  int indent_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool after_key_ = false;
};

}  // namespace otlpd
