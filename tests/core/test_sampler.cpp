#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <vector>

#include "core/sampler.hpp"
#include "core/status.hpp"
#include "core/workspace.hpp"

using namespace seqc;

namespace {
int32_t draw(const std::vector<float>& logits, SamplingParams p, Rng& rng) {
  Workspace ws(sampler_scratch_bytes(int64_t(logits.size())));
  return sample_token(logits.data(), int64_t(logits.size()), p, rng, ws);
}
}  // namespace

TEST_CASE("core/sampler/rng_is_xoshiro256starstar") {
  Rng r;
  r.s[0] = 1, r.s[1] = 2, r.s[2] = 3, r.s[3] = 4;
  // First outputs of the reference implementation for state {1, 2, 3, 4}.
  CHECK(r.next() == 11520ull);
  CHECK(r.next() == 0ull);
  CHECK(r.next() == 1509978240ull);
  Rng a, b;
  a.seed(7);
  b.seed(7);
  for (int i = 0; i < 100; ++i) REQUIRE(a.next() == b.next());
  for (int i = 0; i < 1000; ++i) {
    const double u = a.uniform();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
  }
}

TEST_CASE("core/sampler/greedy") {
  Rng rng;
  rng.seed(1);
  const Rng before = rng;
  CHECK(draw({0, 3, 1, 3}, {}, rng) == 1);
  CHECK(draw({NAN, -1, NAN}, {}, rng) == 1);
  CHECK(draw({NAN, NAN}, {}, rng) == 0);
  CHECK(draw({-INFINITY, -INFINITY}, {}, rng) == 0);
  CHECK(std::equal(rng.s, rng.s + 4, before.s));  // greedy draws no random numbers
}

TEST_CASE("core/sampler/distribution_top_k_top_p") {
  // p = softmax([0, ln 2, ln 3, ln 4]) = [0.1, 0.2, 0.3, 0.4]
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f)};
  Rng rng;
  rng.seed(3);
  const int n = 40000;
  auto freq = [&](SamplingParams p) {
    std::vector<int> count(4, 0);
    for (int i = 0; i < n; ++i) ++count[size_t(draw(logits, p, rng))];
    std::vector<double> f(4);
    for (int k = 0; k < 4; ++k) f[size_t(k)] = double(count[size_t(k)]) / n;
    return f;
  };
  auto f = freq({1.0f, 0, 1.0f});
  for (int k = 0; k < 4; ++k) CHECK(std::fabs(f[size_t(k)] - 0.1 * (k + 1)) < 0.015);
  f = freq({1.0f, 2, 1.0f});  // keeps ids 3 and 2: 4/7, 3/7
  CHECK(f[0] == 0.0);
  CHECK(f[1] == 0.0);
  CHECK(std::fabs(f[3] - 4.0 / 7) < 0.015);
  f = freq({1.0f, 0, 0.65f});  // 0.4 + 0.3 = 0.7 >= 0.65: ids 3, 2
  CHECK(f[1] == 0.0);
  CHECK(std::fabs(f[2] - 3.0 / 7) < 0.015);
  f = freq({1.0f, 0, 0.3f});  // 0.4 alone reaches it
  CHECK(f[3] == 1.0);
  f = freq({1e-6f, 0, 1.0f});  // tiny temperature: practically greedy
  CHECK(f[3] == 1.0);
  CHECK(draw({1.0f, INFINITY, 2.0f}, {1.0f, 0, 1.0f}, rng) == 1);
}

TEST_CASE("core/sampler/validation") {
  CHECK_THROWS_AS(check_sampling({-1.0f, 0, 1.0f}), Error);
  CHECK_THROWS_AS(check_sampling({NAN, 0, 1.0f}), Error);
  CHECK_THROWS_AS(check_sampling({INFINITY, 0, 1.0f}), Error);
  CHECK_THROWS_AS(check_sampling({1e-40f, 0, 1.0f}), Error);
  CHECK_THROWS_AS(check_sampling({1.0f, -1, 1.0f}), Error);
  CHECK_THROWS_AS(check_sampling({1.0f, 0, 0.0f}), Error);
  CHECK_THROWS_AS(check_sampling({1.0f, 0, NAN}), Error);
  CHECK_NOTHROW(check_sampling({0.0f, 0, 1.0f}));
}
