#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/common/http_client.h"
#include "modules/loadable_module.h"
#include "translator/jaeger/jaeger_thrift_module.h"

// The modules are built into the build tree's lib/otlpd, which is where the test binary (one
// directory below the build tree's root, like otlpd) looks for them.
namespace otlpd {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

TEST(LoadableModule, TheBuiltModulesAreFoundBesideTheExecutable) {
  EXPECT_THAT(module_directory(), ::testing::EndsWith("/lib/otlpd"));
  EXPECT_THAT(module_missing(HttpClientModule::kModule), IsEmpty());
  EXPECT_THAT(module_missing(jaeger::JaegerThriftModule::kModule), IsEmpty());
  EXPECT_THAT(http_client_missing(), IsEmpty());
}

TEST(LoadableModule, AMissingModuleIsAnErrorNamingItsPath) {
  EXPECT_THAT(module_missing("no_such_module"), HasSubstr(module_directory() + "/no_such_module.so"));
  std::string error;
  EXPECT_EQ(load_module("no_such_module", "Api", 1, &error), nullptr);
  EXPECT_THAT(error, HasSubstr("cannot load the module " + module_directory() + "/no_such_module.so"));
  error.clear();
  EXPECT_EQ(load_module("no_such_module", "Api", 1, &error), nullptr);  // refused again, same answer
  EXPECT_THAT(error, HasSubstr("no_such_module.so"));
}

TEST(LoadableModule, AnotherApiOrRevisionIsRefused) {
  std::string error;
  EXPECT_EQ(load_module(HttpClientModule::kModule, "OtherApi", 1, &error), nullptr);
  EXPECT_THAT(error, HasSubstr("has the API HttpClientModule revision 1, otlpd expects OtherApi revision 1"));
  EXPECT_EQ(load_module(HttpClientModule::kModule, HttpClientModule::kApiName, 99, &error), nullptr);
  EXPECT_THAT(error, HasSubstr("otlpd expects HttpClientModule revision 99"));
}

TEST(LoadableModule, TheHttpClientLoadsOnceAndReportsAConnectionFailure) {
  std::string error;
  const HttpClientModule* http = load_http_client(&error);
  ASSERT_NE(http, nullptr) << error;
  EXPECT_EQ(load_http_client(&error), http);
  // Port 1 on loopback: nothing listens there.
  const HttpResponse r = http->post("http://127.0.0.1:1/v1/traces", "x", "application/x-protobuf", "", {}, 2s, {});
  EXPECT_FALSE(r.sent);
  EXPECT_THAT(r.error, ::testing::Not(IsEmpty()));
}

TEST(LoadableModule, TheThriftModuleEncodesABatch) {
  std::string error;
  const auto* thrift = load_module_api<jaeger::JaegerThriftModule>(&error);
  ASSERT_NE(thrift, nullptr) << error;
  jaegertracing::thrift::Batch batch;
  batch.process.serviceName = "svc";
  std::string bytes;
  ASSERT_TRUE(thrift->serialize(batch, &bytes, &error)) << error;
  // TBinaryProtocol: field 1 (process), a struct (type 12); inside it field 1 (serviceName), a
  // string (type 11) of length 3.
  ASSERT_GE(bytes.size(), 13u);
  EXPECT_EQ(bytes.substr(0, 3), std::string("\x0c\x00\x01", 3));
  EXPECT_EQ(bytes.substr(3, 3), std::string("\x0b\x00\x01", 3));
  EXPECT_EQ(bytes.substr(6, 7), std::string("\x00\x00\x00\x03svc", 7));
}

}  // namespace
}  // namespace otlpd
