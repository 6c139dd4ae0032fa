/* SPDX-License-Identifier: MIT */
/* Unit tests for addr: good endpoints parse and round-trip, every kind of
 * malformed endpoint is rejected with the output untouched, and a seeded
 * fuzz loop never crashes and only accepts what round-trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "common/err.h"

/* splitmix64: a small deterministic generator, so runs are repeatable. */
static uint64_t rng_next(uint64_t *seed)
{
  uint64_t z = (*seed += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Asserts that s is rejected with flags and out is left as it was. */
static void assert_rejected(const char *s, unsigned flags)
{
  struct addr a, before;

  memset(&a, 0x5a, sizeof(a));
  before = a;
  if (addr_parse(&a, s, flags) != CHORD_EINVAL)
    fail_msg("accepted \"%s\"", s ? s : "(null)");
  assert_memory_equal(&a, &before, sizeof(a));
  assert_int_equal(addr_validate(s, flags), CHORD_EINVAL);
}

/* Asserts that a formats to a string that parses back to a. */
static void assert_round_trips(const struct addr *a, unsigned flags)
{
  char buf[ADDR_STR_MAX];
  struct addr b;

  assert_int_equal(addr_format(a, buf, sizeof(buf)), 0);
  assert_int_equal(addr_parse(&b, buf, flags), 0);
  assert_string_equal(b.host, a->host);
  assert_int_equal(b.port, a->port);
  assert_int_equal(b.kind, a->kind);
}

static void test_addr_parses_good_inputs(void **state)
{
  static const struct {
    const char *s, *host;
    uint16_t port;
    enum addr_kind kind;
  } good[] = {
      {"127.0.0.1:7000", "127.0.0.1", 7000, ADDR_IPV4},
      {"localhost:1", "localhost", 1, ADDR_NAME},
      {"[::1]:65535", "::1", 65535, ADDR_IPV6},
      {"node-3.chord.local:7001", "node-3.chord.local", 7001, ADDR_NAME},
      {"[2001:db8::1]:80", "2001:db8::1", 80, ADDR_IPV6},
      {"0.0.0.0:9", "0.0.0.0", 9, ADDR_IPV4},
      {"255.255.255.255:65535", "255.255.255.255", 65535, ADDR_IPV4},
      {"[::ffff:10.0.0.1]:443", "::ffff:10.0.0.1", 443, ADDR_IPV6},
      {"Node-A.Example.COM:8080", "Node-A.Example.COM", 8080, ADDR_NAME},
      {"a:1", "a", 1, ADDR_NAME},
      {"1.2.3.x:5", "1.2.3.x", 5, ADDR_NAME}, /* not all digits: a name */
      {"9a:5", "9a", 5, ADDR_NAME},
      {"x--y:5", "x--y", 5, ADDR_NAME},
  };

  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    struct addr a;
    char buf[ADDR_STR_MAX];

    if (addr_parse(&a, good[i].s, 0) != 0)
      fail_msg("rejected \"%s\"", good[i].s);
    assert_string_equal(a.host, good[i].host);
    assert_int_equal(a.port, good[i].port);
    assert_int_equal(a.kind, good[i].kind);
    assert_int_equal(addr_validate(good[i].s, 0), 0);

    assert_int_equal(addr_format(&a, buf, sizeof(buf)), 0);
    assert_string_equal(buf, good[i].s);
    assert_round_trips(&a, 0);
  }
}

static void test_addr_port_limits(void **state)
{
  struct addr a;

  assert_rejected("host:0", 0);
  assert_int_equal(addr_parse(&a, "host:0", ADDR_ALLOW_PORT0), 0);
  assert_int_equal(a.port, 0);
  assert_round_trips(&a, ADDR_ALLOW_PORT0);
  assert_int_equal(addr_parse(&a, "[::]:0", ADDR_ALLOW_PORT0), 0);
  assert_int_equal(a.kind, ADDR_IPV6);
  assert_int_equal(addr_validate("127.0.0.1:0", ADDR_ALLOW_PORT0), 0);
  assert_rejected("127.0.0.1:0", 0);
  assert_rejected("host:00000", 0);

  assert_int_equal(addr_parse(&a, "host:65535", 0), 0);
  assert_int_equal(a.port, 65535);
  assert_rejected("host:65536", 0);
  assert_rejected("host:65536", ADDR_ALLOW_PORT0);
  assert_rejected("host:99999", 0);
  assert_rejected("host:99999999999", 0);
  assert_rejected("host:000080", 0); /* six digits */

  /* Up to five digits, leading zeros included, are read in decimal. */
  assert_int_equal(addr_parse(&a, "host:00080", 0), 0);
  assert_int_equal(a.port, 80);
}

static void test_addr_rejects_malformed(void **state)
{
  static const char *bad[] = {
      "",
      "host",
      "host:",
      ":80",
      ":",
      "host:-1",
      "host:+80",
      "host:80x",
      "host:8 0",
      "host:0x50",
      "host:80:81",
      "::1:80",
      "::1",
      "2001:db8::1:80",
      "[::1]",
      "[::1]:",
      "[::1]80",
      "[::1]180",
      "[::1]1:80",
      "[::1]:80x",
      "[::1]x:80",
      "[::1:80",
      "::1]:80",
      "[]:80",
      "[zz::1]:80",
      "[127.0.0.1]:80",
      "[localhost]:80",
      "[::1%eth0]:80",
      "256.1.1.1:80",
      "1.2.3:80",
      "1.2.3.4.5:80",
      "123:80",
      "1..2.3:80",
      "-bad.com:80",
      "bad-.com:80",
      "bad.-com:80",
      "a..b:80",
      ".a:80",
      "a.:80",
      "a b:80",
      " host:80",
      "host :80",
      "host: 80",
      "host:80 ",
      "ho_st:80",
      "ho\tst:80",
      "host\x01:80",
      "host:80\n",
      "h\x7fost:80",
      "h\xc3\xa9st:80",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_rejected(bad[i], 0);
  assert_rejected(NULL, 0);
  assert_rejected("host:0x", ADDR_ALLOW_PORT0);

  struct addr a;
  assert_int_equal(addr_parse(NULL, "host:80", 0), CHORD_EINVAL);
  assert_int_equal(addr_parse(&a, "host:80", 0), 0);
}

/* Writes a host of len chars made of labels of at most label chars. */
static void make_host(char *out, size_t len, size_t label)
{
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    if (run == label && i + 1 < len) {
      out[i] = '.';
      run = 0;
    } else {
      out[i] = (char)('a' + i % 26);
      run++;
    }
  }
  out[len] = '\0';
}

static void test_addr_host_length_limits(void **state)
{
  char host[400], s[420];
  struct addr a;

  /* 253 chars of 63-char labels: the longest host. */
  make_host(host, 253, 63);
  snprintf(s, sizeof(s), "%s:7000", host);
  assert_int_equal(addr_parse(&a, s, 0), 0);
  assert_int_equal(strlen(a.host), 253);
  assert_string_equal(a.host, host);
  assert_round_trips(&a, 0);

  /* The longest endpoint fits ADDR_STR_MAX exactly with room to spare. */
  char buf[ADDR_STR_MAX];
  a.port = 65535;
  assert_int_equal(addr_format(&a, buf, sizeof(buf)), 0);
  assert_int_equal(strlen(buf), 253 + 6);

  /* 254 chars is too long, however it is split. */
  make_host(host, 254, 63);
  snprintf(s, sizeof(s), "%s:7000", host);
  assert_rejected(s, 0);
  make_host(host, 300, 20);
  snprintf(s, sizeof(s), "%s:7000", host);
  assert_rejected(s, 0);

  /* A 63-char label is fine, 64 is not. */
  make_host(host, 63, 63);
  snprintf(s, sizeof(s), "%s.example:1", host);
  assert_int_equal(addr_validate(s, 0), 0);
  make_host(host, 64, 64);
  snprintf(s, sizeof(s), "%s.example:1", host);
  assert_rejected(s, 0);
  snprintf(s, sizeof(s), "example.%s:1", host);
  assert_rejected(s, 0);
}

static void test_addr_format_small_buffer(void **state)
{
  struct addr a;
  char buf[ADDR_STR_MAX];

  assert_int_equal(addr_parse(&a, "127.0.0.1:7000", 0), 0);
  memset(buf, '#', sizeof(buf));
  assert_int_equal(addr_format(&a, buf, 14), CHORD_EINVAL); /* no NUL room */
  assert_int_equal(buf[0], '#');
  assert_int_equal(addr_format(&a, buf, 1), CHORD_EINVAL);
  assert_int_equal(addr_format(&a, buf, 0), CHORD_EINVAL);
  assert_int_equal(buf[0], '#');
  assert_int_equal(addr_format(&a, buf, 15), 0);
  assert_string_equal(buf, "127.0.0.1:7000");

  /* The brackets count: "[::1]:65535" needs 12 bytes. */
  assert_int_equal(addr_parse(&a, "[::1]:65535", 0), 0);
  memset(buf, '#', sizeof(buf));
  assert_int_equal(addr_format(&a, buf, 11), CHORD_EINVAL);
  assert_int_equal(buf[0], '#');
  assert_int_equal(addr_format(&a, buf, 12), 0);
  assert_string_equal(buf, "[::1]:65535");

  assert_int_equal(addr_format(NULL, buf, sizeof(buf)), CHORD_EINVAL);
  assert_int_equal(addr_format(&a, NULL, 64), CHORD_EINVAL);
}

/* Fills s (cap bytes) with a random candidate: raw bytes, characters from
 * the syntax's alphabet, or a mutated good endpoint. */
static void random_candidate(uint64_t *seed, char *s, size_t cap)
{
  static const char alphabet[] = "0123456789abcdefxyzABC.-:[]_ %";
  static const char *good[] = {"127.0.0.1:7000", "[::1]:65535",
                               "node-3.chord.local:7001", "[2001:db8::1]:80",
                               "localhost:1"};
  uint64_t mode = rng_next(seed) % 3;
  size_t len;

  if (mode == 0) {
    len = rng_next(seed) % (cap - 1);
    for (size_t i = 0; i < len; i++)
      s[i] = (char)(1 + rng_next(seed) % 255);
    s[len] = '\0';
  } else if (mode == 1) {
    len = rng_next(seed) % 32;
    for (size_t i = 0; i < len; i++)
      s[i] = alphabet[rng_next(seed) % (sizeof(alphabet) - 1)];
    s[len] = '\0';
  } else {
    snprintf(s, cap, "%s", good[rng_next(seed) % 5]);
    len = strlen(s);
    int edits = 1 + (int)(rng_next(seed) % 3);
    for (int e = 0; e < edits && len > 0; e++) {
      size_t at = rng_next(seed) % len;
      char c = alphabet[rng_next(seed) % (sizeof(alphabet) - 1)];
      switch (rng_next(seed) % 3) {
      case 0: /* replace */ s[at] = c; break;
      case 1: /* delete */
        memmove(s + at, s + at + 1, len - at);
        len--;
        break;
      default: /* insert */
        if (len + 2 < cap) {
          memmove(s + at + 1, s + at, len - at + 1);
          s[at] = c;
          len++;
        }
        break;
      }
    }
  }
}

static void test_addr_fuzz_round_trip(void **state)
{
  uint64_t seed = 0xadd7;
  char s[300];
  int accepted = 0;

  for (int it = 0; it < 10000; it++) {
    struct addr a;
    random_candidate(&seed, s, sizeof(s));
    unsigned flags = it % 2 ? ADDR_ALLOW_PORT0 : 0;
    int rc = addr_parse(&a, s, flags);
    assert_int_equal(addr_validate(s, flags), rc);
    if (rc != 0) {
      assert_int_equal(rc, CHORD_EINVAL);
      continue;
    }
    accepted++;
    assert_true(strlen(a.host) > 0 && strlen(a.host) <= ADDR_HOST_MAX);
    for (const char *p = a.host; *p; p++) {
      if (*p <= ' ' || *p >= 0x7f)
        fail_msg("accepted \"%s\" with a control or space in the host", s);
    }
    assert_round_trips(&a, flags);
  }
  /* The mutated good inputs make some accepted strings likely. */
  assert_true(accepted > 100);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_addr_parses_good_inputs),
      cmocka_unit_test(test_addr_port_limits),
      cmocka_unit_test(test_addr_rejects_malformed),
      cmocka_unit_test(test_addr_host_length_limits),
      cmocka_unit_test(test_addr_format_small_buffer),
      cmocka_unit_test(test_addr_fuzz_round_trip),
  };
  return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
