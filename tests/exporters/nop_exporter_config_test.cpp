#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/nop/nop_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(NopExporterConfig, TakesOnlyASendingQueue) {
  const NopExporterFactory factory;
  EXPECT_THAT(parse_with(factory, "{}", "exporters::nop").errors, IsEmpty());
  EXPECT_THAT(parse_with(factory, "", "exporters::nop").errors, IsEmpty());
  EXPECT_THAT(parse_with(factory, "{verbosity: basic}", "exporters::nop").errors,
              ElementsAre(HasSubstr("exporters::nop::verbosity: unknown key")));
  EXPECT_THAT(NopConfig().validate(), IsEmpty());
  EXPECT_THAT(parse_with(factory, "{sending_queue: {storage: file_storage, num_consumers: 2}}", "exporters::nop").errors,
              IsEmpty());
  EXPECT_THAT(parse_with(factory, "{sending_queue: {queue_size: 0}}", "exporters::nop").errors,
              ElementsAre("exporters::nop::sending_queue::queue_size: must be > 0"));
}

}  // namespace
}  // namespace otlpd
