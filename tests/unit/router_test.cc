// Routing: path patterns with {params}, 405 with an Allow list, path normalization, query decoding;
// the response head written to the wire.
#include <gtest/gtest.h>

#include "http/message.h"
#include "http/router.h"

namespace varg {
namespace {

Router keys_router() {
  Router r;
  r.add("GET", "/api/keys");
  r.add("POST", "/api/keys");
  r.add("GET", "/api/keys/{id}");
  r.add("DELETE", "/api/keys/{id}");
  r.add("GET", "/v1/jobs/{job_id}/stream");
  r.add("GET", "/healthz");
  return r;
}

TEST(Router, MatchesLiteralAndParameterSegments) {
  Router r = keys_router();
  auto m = r.match("GET", "/api/keys");
  EXPECT_EQ(m.kind, Router::Match::found);
  EXPECT_EQ(r.pattern(m.index), "/api/keys");
  EXPECT_EQ(r.method(m.index), "GET");

  m = r.match("DELETE", "/api/keys/42");
  ASSERT_EQ(m.kind, Router::Match::found);
  EXPECT_EQ(r.pattern(m.index), "/api/keys/{id}");
  EXPECT_EQ(r.method(m.index), "DELETE");
  EXPECT_EQ(m.params.at("id"), "42");

  m = r.match("GET", "/v1/jobs/job_abc/stream");
  ASSERT_EQ(m.kind, Router::Match::found);
  EXPECT_EQ(m.params.at("job_id"), "job_abc");
  EXPECT_EQ(r.size(), 6u);
}

TEST(Router, ParametersDoNotSpanSegmentsOrMatchEmpty) {
  Router r = keys_router();
  EXPECT_EQ(r.match("GET", "/api/keys/1/2").kind, Router::Match::none);
  EXPECT_EQ(r.match("GET", "/v1/jobs/stream").kind, Router::Match::none);
  EXPECT_EQ(r.match("GET", "/v1/jobs/a/b/stream").kind, Router::Match::none);
}

TEST(Router, UnknownPathIsNone) {
  Router r = keys_router();
  for (const char* p : {"/", "/api", "/api/key", "/api/keysx", "/v1/x", "/healthz/x"})
    EXPECT_EQ(r.match("GET", p).kind, Router::Match::none) << p;
}

TEST(Router, KnownPathWithOtherMethodIsWrongMethodWithAllowList) {
  Router r = keys_router();
  auto m = r.match("PUT", "/api/keys");
  EXPECT_EQ(m.kind, Router::Match::wrong_method);
  EXPECT_EQ(m.allow, "GET, POST");
  m = r.match("PATCH", "/api/keys/7");
  EXPECT_EQ(m.kind, Router::Match::wrong_method);
  EXPECT_EQ(m.allow, "GET, DELETE");
  m = r.match("POST", "/healthz");
  EXPECT_EQ(m.allow, "GET");
}

TEST(Router, AllowListHasNoDuplicates) {
  Router r;
  r.add("GET", "/a/{x}");
  r.add("GET", "/a/{y}");
  r.add("POST", "/a/{z}");
  auto m = r.match("DELETE", "/a/1");
  EXPECT_EQ(m.kind, Router::Match::wrong_method);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST(Router, HeadIsServedByGet) {
  Router r = keys_router();
  auto m = r.match("HEAD", "/healthz");
  EXPECT_EQ(m.kind, Router::Match::found);
  EXPECT_EQ(r.method(m.index), "GET");
}

TEST(Router, MethodsAreCaseSensitive) {
  Router r = keys_router();
  EXPECT_EQ(r.match("get", "/healthz").kind, Router::Match::wrong_method);
}

TEST(Router, FirstRegisteredRouteWins) {
  Router r;
  r.add("GET", "/v1/jobs/{id}");
  r.add("GET", "/v1/jobs/latest");
  auto m = r.match("GET", "/v1/jobs/latest");
  EXPECT_EQ(m.index, 0u);
  EXPECT_EQ(m.params.at("id"), "latest");
}

TEST(NormalizePath, CollapsesDoubledSlashesAndDropsTrailingSlash) {
  const std::pair<const char*, const char*> cases[] = {
      {"/api/keys", "/api/keys"},
      {"/api/keys/", "/api/keys"},
      {"//api/v0/users/current/", "/api/v0/users/current"},
      {"/api//v0///auth/apikeys/", "/api/v0/auth/apikeys"},
      {"/", "/"},
      {"//", "/"},
      {"", "/"},
      {"api/keys", "/api/keys"},
  };
  for (auto& [in, out] : cases) EXPECT_EQ(normalize_path(in), out) << "'" << in << "'";
}

TEST(NormalizePath, NormalizedVastPathsRouteLikeTheCanonicalOne) {
  Router r;
  r.add("GET", "/api/v0/auth/apikeys/{id}");
  for (const char* p : {"/api/v0/auth/apikeys/5", "/api/v0/auth/apikeys/5/", "//api/v0/auth/apikeys/5/"}) {
    auto m = r.match("GET", normalize_path(p));
    ASSERT_EQ(m.kind, Router::Match::found) << p;
    EXPECT_EQ(m.params.at("id"), "5") << p;
  }
}

TEST(Request, QueryParamsArePercentDecoded) {
  Request req;
  req.query = "api_key=varg_abc&q=a%20b+c&flag&pct=100%25&bad=%zz";
  EXPECT_EQ(req.query_param("api_key"), "varg_abc");
  EXPECT_EQ(req.query_param("q"), "a b c");
  EXPECT_EQ(req.query_param("flag"), "");
  EXPECT_EQ(req.query_param("pct"), "100%");
  EXPECT_EQ(req.query_param("bad"), "%zz");
  EXPECT_FALSE(req.query_param("missing").has_value());
  EXPECT_FALSE(req.query_param("api").has_value());
}

TEST(Request, HeaderLookupByLowerCaseName) {
  Request req;
  req.headers = {{"x-request-id", "abc"}, {"authorization", "Bearer k"}};
  EXPECT_EQ(req.header("authorization"), "Bearer k");
  EXPECT_EQ(req.header("x-request-id"), "abc");
  EXPECT_EQ(req.header("cookie"), "");
}

TEST(Response, SetHeaderReplacesAnExistingValue) {
  Response r;
  r.set_header("X-Request-Id", "a");
  r.set_header("X-Request-Id", "b");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "b");
}

TEST(PercentDecode, HandlesTruncatedEscapes) {
  EXPECT_EQ(percent_decode("%41%42"), "AB");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%"), "%");
  EXPECT_EQ(percent_decode("a+b"), "a b");
  EXPECT_EQ(percent_encode("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
  EXPECT_EQ(percent_decode(percent_encode("st<\"8>&x")), "st<\"8>&x");
}

TEST(ResponseHead, StatusLineFieldsLengthAndConnection) {
  Response r;
  r.status = 404;
  r.headers = {{"X-Request-Id", "req_1"}};
  EXPECT_EQ(response_head(r, 11, true, 7),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nX-Request-Id: req_1\r\n"
            "Content-Length: 7\r\n\r\n");
  EXPECT_EQ(response_head(r, 11, false, std::nullopt),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nX-Request-Id: req_1\r\n"
            "Connection: close\r\n\r\n");
  EXPECT_EQ(response_head(r, 10, true, 0).find("HTTP/1.0 404 Not Found\r\n"), 0u);
  EXPECT_NE(response_head(r, 10, true, 0).find("\r\nConnection: keep-alive\r\n"), std::string::npos);
  EXPECT_TRUE(bodiless(204) && bodiless(304) && bodiless(101) && !bodiless(200) && !bodiless(404));
}

TEST(ResponseHead, AFieldCarryingLineBreaksCannotAddAFieldOrEndTheHead) {
  Response r;  // e.g. a file name or a redirect target that came from a caller
  r.headers = {{"Content-Disposition", "attachment; filename=\"a\r\nSet-Cookie: session=stolen\r\n\r\n<script>\""},
               {"X-Evil\r\nSet-Cookie", "x\0y"}};
  r.content_type = "text/plain\nX-Injected: 1";
  const std::string head = response_head(r, 11, true, 0);
  EXPECT_EQ(head.find("\r\nSet-Cookie"), std::string::npos) << head;
  EXPECT_EQ(head.find("\nX-Injected"), std::string::npos) << head;
  EXPECT_EQ(head.find('\0'), std::string::npos);
  EXPECT_EQ(head.find("\r\n\r\n"), head.size() - 4) << "the head ends once, at its end";
  size_t lines = 0;
  for (size_t at = 0; (at = head.find("\r\n", at)) != std::string::npos; at += 2) lines++;
  EXPECT_EQ(lines, 6u) << "status line, 4 fields, the empty line: " << head;
}

}  // namespace
}  // namespace varg
