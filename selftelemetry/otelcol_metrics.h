#pragma once

#include <array>
#include <string>

#include "selftelemetry/metrics.h"

namespace otlpd {

// The self-telemetry metrics, named as the OpenTelemetry Collector v0.159 exposes them (so that
// its dashboards and alerts work unchanged), and otlpd's own where otelcol has none (otlpd_*).
// Names are without the _total and unit suffixes, as otelcol's defaults (without_type_suffix,
// without_units) write them; a prometheus reader with those options false adds them.
// Per-signal families are indexed by signal: traces, metrics, logs.
namespace selfmetrics {

using PerSignal = std::array<MetricInfo, 3>;

// Receivers: labels receiver, transport (grpc | http).
inline const PerSignal kReceiverAccepted = {
    MetricInfo{"otelcol_receiver_accepted_spans", "Number of spans successfully pushed into the pipeline."},
    MetricInfo{"otelcol_receiver_accepted_metric_points", "Number of metric points successfully pushed into the pipeline."},
    MetricInfo{"otelcol_receiver_accepted_log_records", "Number of log records successfully pushed into the pipeline."}};
inline const PerSignal kReceiverRefused = {
    MetricInfo{"otelcol_receiver_refused_spans", "Number of spans that could not be pushed into the pipeline."},
    MetricInfo{"otelcol_receiver_refused_metric_points", "Number of metric points that could not be pushed into the pipeline."},
    MetricInfo{"otelcol_receiver_refused_log_records", "Number of log records that could not be pushed into the pipeline."}};
inline const MetricInfo kReceiverRefusedRequests{
    "otlpd_receiver_refused_requests",
    "Requests refused before decoding because the pipeline was full or over its memory limit (their items were never counted).",
    MetricInfo::Type::counter, MetricsLevel::basic};
inline const MetricInfo kReceiverMalformedRequests{
    "otlpd_receiver_malformed_requests", "Requests rejected as malformed (INVALID_ARGUMENT / HTTP 400).",
    MetricInfo::Type::counter, MetricsLevel::basic};

// Exporters: label exporter.
inline const PerSignal kExporterSent = {
    MetricInfo{"otelcol_exporter_sent_spans", "Number of spans successfully sent to destination."},
    MetricInfo{"otelcol_exporter_sent_metric_points", "Number of metric points successfully sent to destination."},
    MetricInfo{"otelcol_exporter_sent_log_records", "Number of log record successfully sent to destination."}};
// Created at the first failure, as otelcol's; at level detailed with error.type and error.permanent.
inline const PerSignal kExporterSendFailed = {
    MetricInfo{"otelcol_exporter_send_failed_spans", "Number of spans in failed attempts to send to destination.",
               MetricInfo::Type::counter, MetricsLevel::basic, "", MetricInfo::Merge::sum, {"error.permanent", "error.type"}},
    MetricInfo{"otelcol_exporter_send_failed_metric_points", "Number of metric points in failed attempts to send to destination.",
               MetricInfo::Type::counter, MetricsLevel::basic, "", MetricInfo::Merge::sum, {"error.permanent", "error.type"}},
    MetricInfo{"otelcol_exporter_send_failed_log_records", "Number of log records in failed attempts to send to destination.",
               MetricInfo::Type::counter, MetricsLevel::basic, "", MetricInfo::Merge::sum, {"error.permanent", "error.type"}}};
inline const PerSignal kExporterEnqueueFailed = {
    MetricInfo{"otelcol_exporter_enqueue_failed_spans", "Number of spans failed to be added to the sending queue."},
    MetricInfo{"otelcol_exporter_enqueue_failed_metric_points", "Number of metric points failed to be added to the sending queue."},
    MetricInfo{"otelcol_exporter_enqueue_failed_log_records", "Number of log records failed to be added to the sending queue."}};
// With the labels data_type (traces | metrics | logs) and exporter: one sending queue holds
// every signal in otlpd, so each data_type reports its own batches and the shared capacity.
inline const MetricInfo kExporterQueueSize{"otelcol_exporter_queue_size", "Current size of the retry queue (in batches)",
                                           MetricInfo::Type::gauge, MetricsLevel::basic};
inline const MetricInfo kExporterQueueCapacity{"otelcol_exporter_queue_capacity", "Fixed capacity of the retry queue (in batches)",
                                               MetricInfo::Type::gauge, MetricsLevel::basic};

// A persistent sending queue (sending_queue::storage), otlpd's own: labels exporter.
inline const MetricInfo kExporterQueueDiskBytes{"otlpd_exporter_queue_disk_bytes",
                                                "Size of the persistent sending queue's files on disk.",
                                                MetricInfo::Type::gauge, MetricsLevel::basic};
inline const MetricInfo kExporterQueueFsyncs{"otlpd_exporter_queue_fsyncs",
                                             "fdatasync calls made by the persistent sending queue.",
                                             MetricInfo::Type::counter, MetricsLevel::basic};
inline const MetricInfo kExporterQueueWrittenBytes{"otlpd_exporter_queue_written_bytes",
                                                   "Bytes written to the persistent sending queue's files.",
                                                   MetricInfo::Type::counter, MetricsLevel::basic};
inline const MetricInfo kExporterQueueCorruptRecords{
    "otlpd_exporter_queue_corrupt_records",
    "Records of the persistent sending queue found damaged on disk and skipped (checksum mismatch, torn or unreadable).",
    MetricInfo::Type::counter, MetricsLevel::basic};

// The batch processor: label processor.
inline const MetricInfo kBatchSendSize{"otelcol_processor_batch_batch_send_size",
                                       "Number of units in the batch", MetricInfo::Type::histogram, MetricsLevel::normal};
inline const MetricInfo kBatchTimeoutTrigger{"otelcol_processor_batch_timeout_trigger_send",
                                             "Number of times the batch was sent due to a timeout trigger",
                                             MetricInfo::Type::counter, MetricsLevel::normal};
inline const MetricInfo kBatchSizeTrigger{"otelcol_processor_batch_batch_size_trigger_send",
                                          "Number of times the batch was sent due to a size trigger",
                                          MetricInfo::Type::counter, MetricsLevel::normal};

// The memory limiter: label processor. One configured memory_limiter is an instance per
// pipeline, all with the same view of the process: their gauges are not summed.
inline const MetricInfo kMemoryLimiterUsage{"otlpd_memory_limiter_usage_bytes",
                                            "Memory in use as the memory_limiter counts it (RSS at the last check plus live requests since)",
                                            MetricInfo::Type::gauge, MetricsLevel::basic, "",
                                            MetricInfo::Merge::max};
inline const MetricInfo kMemoryLimiterSoftLimit{"otlpd_memory_limiter_soft_limit_bytes",
                                                "Usage above which the memory_limiter refuses data (limit - spike)",
                                                MetricInfo::Type::gauge, MetricsLevel::basic, "",
                                            MetricInfo::Merge::max};
inline const MetricInfo kMemoryLimiterRefusing{"otlpd_memory_limiter_refusing",
                                               "1 while the memory_limiter is over its soft limit and refuses data, else 0",
                                               MetricInfo::Type::gauge, MetricsLevel::basic, "",
                                            MetricInfo::Merge::max};
inline const MetricInfo kMemoryLimiterRefused{"otlpd_memory_limiter_refused_requests",
                                              "Requests the memory_limiter refused", MetricInfo::Type::counter,
                                              MetricsLevel::basic};

// The trace store: label exporter.
inline const MetricInfo kTraceStoreTraces{"otlpd_trace_store_traces", "Traces held by the trace store",
                                          MetricInfo::Type::gauge, MetricsLevel::basic};
inline const MetricInfo kTraceStoreSpans{"otlpd_trace_store_spans", "Spans held by the trace store",
                                         MetricInfo::Type::gauge, MetricsLevel::basic};
inline const MetricInfo kTraceStoreBytes{"otlpd_trace_store_bytes",
                                         "Bytes the trace store counts against max_memory_mib (kept requests + index)",
                                         MetricInfo::Type::gauge, MetricsLevel::basic};
inline const MetricInfo kTraceStoreEvictedTraces{"otlpd_trace_store_evicted_traces",
                                                 "Traces evicted to stay within max_traces / max_memory_mib",
                                                 MetricInfo::Type::counter, MetricsLevel::basic};
inline const MetricInfo kTraceStoreEvictedSpans{"otlpd_trace_store_evicted_spans",
                                                "Spans evicted to stay within max_traces / max_memory_mib",
                                                MetricInfo::Type::counter, MetricsLevel::basic};

// The process.
inline const MetricInfo kProcessUptime{"otelcol_process_uptime", "Uptime of the process",
                                       MetricInfo::Type::counter, MetricsLevel::basic};
inline const MetricInfo kProcessCpuSeconds{"otelcol_process_cpu_seconds", "Total CPU user and system time in seconds",
                                           MetricInfo::Type::counter, MetricsLevel::basic};
inline const MetricInfo kProcessMemoryRss{"otelcol_process_memory_rss", "Total physical memory (resident set size)",
                                          MetricInfo::Type::gauge, MetricsLevel::basic};

}  // namespace selfmetrics
}  // namespace otlpd
