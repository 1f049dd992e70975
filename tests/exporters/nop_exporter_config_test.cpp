#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/nop/nop_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(NopExporterConfig, TakesNoOptions) {
  const NopExporterFactory factory;
  EXPECT_THAT(parse_with(factory, "{}", "exporters::nop").errors, IsEmpty());
  EXPECT_THAT(parse_with(factory, "", "exporters::nop").errors, IsEmpty());
  EXPECT_THAT(parse_with(factory, "{verbosity: basic}", "exporters::nop").errors,
              ElementsAre("exporters::nop::verbosity: unknown key (this component takes no options)"));
  EXPECT_THAT(NopConfig().validate(), IsEmpty());
}

}  // namespace
}  // namespace otlpd
