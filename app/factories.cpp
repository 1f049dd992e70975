#include "app/factories.h"

#include "exporters/console/console_exporter.h"
#include "exporters/debug/debug_exporter.h"
#include "exporters/file/file_exporter.h"
#include "exporters/jaeger/jaeger_exporter.h"
#include "exporters/trace_store/trace_store_exporter.h"
#include "exporters/nop/nop_exporter.h"
#include "exporters/otlp/otlp_grpc_exporter.h"
#include "exporters/otlp/otlp_http_exporter.h"
#include "extensions/file_storage/file_storage_extension.h"
#include "extensions/health_check/health_check_extension.h"
#include "extensions/jaeger_query/jaeger_query_extension.h"
#include "processors/batch/batch_processor.h"
#include "processors/memory_limiter/memory_limiter_processor.h"
#include "receiver/otlp/otlp_receiver.h"

namespace otlpd {

Factories make_factories() {
  Factories f;
  f.receivers.push_back(std::make_unique<OtlpReceiverFactory>());
  f.processors.push_back(std::make_unique<BatchProcessorFactory>());
  f.processors.push_back(std::make_unique<MemoryLimiterProcessorFactory>());
  f.exporters.push_back(std::make_unique<DebugExporterFactory>());
  f.exporters.push_back(std::make_unique<ConsoleExporterFactory>());
  f.exporters.push_back(std::make_unique<FileExporterFactory>());
  f.exporters.push_back(std::make_unique<NopExporterFactory>());
  f.exporters.push_back(std::make_unique<OtlpGrpcExporterFactory>());
  f.exporters.push_back(std::make_unique<OtlpHttpExporterFactory>());
  f.exporters.push_back(std::make_unique<JaegerExporterFactory>());
  f.exporters.push_back(std::make_unique<TraceStoreExporterFactory>());
  f.extensions.push_back(std::make_unique<HealthCheckExtensionFactory>());
  f.extensions.push_back(std::make_unique<FileStorageExtensionFactory>());
  f.extensions.push_back(std::make_unique<JaegerQueryExtensionFactory>());
  return f;
}

}  // namespace otlpd
