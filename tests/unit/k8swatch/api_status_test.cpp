#include "k8swatch/api_status.h"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

namespace json = boost::json;
using k8swatch::readStatus;

TEST_CASE("api status: a Status object decides what the reflector does next", "[status]") {
  const json::value gone = json::parse(
      R"({"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"})");
  auto s = readStatus(&gone, 200);
  CHECK(s.code == 410);  // the object's code wins over the HTTP status
  CHECK(k8swatch::isGone(s));
  CHECK_FALSE(k8swatch::isTooLargeRv(s));
  CHECK(k8swatch::describe(s) == "HTTP 410 Expired: too old resource version");

  const json::value ahead = json::parse(
      R"({"code":504,"reason":"Timeout","message":"Too large resource version: 9, current: 5"})");
  s = readStatus(&ahead, 504);
  CHECK(k8swatch::isTooLargeRv(s));
  CHECK_FALSE(k8swatch::isGone(s));

  CHECK(k8swatch::isGone(readStatus(nullptr, 410)));
  const json::value odd = json::parse(R"({"code":"410","reason":7,"message":null})");
  s = readStatus(&odd, 500);  // wrong types read as absent
  CHECK(s.code == 500);
  CHECK(s.reason.empty());
  CHECK(k8swatch::describe(s) == "HTTP 500");
  const json::value notObject = json::parse("[1]");
  CHECK(readStatus(&notObject, 503).code == 503);
}
