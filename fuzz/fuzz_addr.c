/* SPDX-License-Identifier: MIT */
/* Fuzzes host:port endpoints: addr_parse, addr_validate and addr_format
 * (a parsed address formats to text that parses to the same address; a
 * buffer too small is refused and left alone) and nodeinfo_to_peer, which
 * takes a node exactly when its address parses. Input: byte 0, bit 0,
 * allows port 0; the rest is the text (up to its first NUL). */
#include <stdbool.h>
#include <string.h>

#include "chord/v1/common.pb-c.h"
#include "common/addr.h"
#include "common/err.h"
#include "common/nodeinfo.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  return 0;
}

static bool same(const struct addr *a, const struct addr *b)
{
  return strcmp(a->host, b->host) == 0 && a->port == b->port &&
         a->kind == b->kind;
}

/* addr_format into every buffer size up to one that fits. */
static void check_format_sizes(const struct addr *a, const char *want)
{
  char buf[ADDR_STR_MAX + 1];
  size_t need = strlen(want) + 1;
  for (size_t len = 0; len <= need; len++) {
    memset(buf, 'x', sizeof(buf));
    int rc = addr_format(a, buf, len);
    if (len < need) {
      FUZZ_CHECK(rc == CHORD_EINVAL, "a small buffer is accepted");
      FUZZ_CHECK(buf[0] == 'x', "a refused buffer was written");
    } else {
      FUZZ_CHECK(rc == 0 && strcmp(buf, want) == 0, "format into a fit");
    }
  }
}

static void check_nodeinfo(const char *s, int parse_rc)
{
  static const uint8_t id[CHORD_ID_BYTES] = {1, 2, 3};
  Chord__V1__NodeInfo ni = CHORD__V1__NODE_INFO__INIT;
  struct chord_peer p;
  const char *why = NULL;
  ni.id.data = (uint8_t *)id;
  ni.id.len = sizeof(id);
  ni.addr = (char *)s;
  int rc = nodeinfo_to_peer(&ni, &p, &why);
  FUZZ_CHECK((rc == 0) == (parse_rc == 0), "nodeinfo_to_peer vs addr_parse");
  FUZZ_CHECK((rc == 0) == (why == NULL), "a reason iff refused");
  if (rc == 0)
    FUZZ_CHECK(strcmp(p.addr, s) == 0, "peer address");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct addr a, b, untouched;
  char text[ADDR_STR_MAX], again[ADDR_STR_MAX];
  if (size < 1)
    return 0;
  unsigned flags = data[0] & 1 ? ADDR_ALLOW_PORT0 : 0;
  char *s = malloc(size);
  FUZZ_CHECK(s, "out of memory");
  memcpy(s, data + 1, size - 1);
  s[size - 1] = '\0';

  memset(&a, 0xa5, sizeof(a));
  untouched = a;
  int rc = addr_parse(&a, s, flags);
  FUZZ_CHECK(rc == 0 || rc == CHORD_EINVAL, "addr_parse error code");
  FUZZ_CHECK(addr_validate(s, flags) == rc, "addr_validate vs addr_parse");
  if (rc) {
    FUZZ_CHECK(memcmp(&a, &untouched, sizeof(a)) == 0, "out was touched");
  } else {
    size_t hl = strnlen(a.host, sizeof(a.host));
    FUZZ_CHECK(hl >= 1 && hl <= ADDR_HOST_MAX, "host length");
    FUZZ_CHECK(a.port || (flags & ADDR_ALLOW_PORT0), "port 0");
    FUZZ_CHECK((a.kind == ADDR_IPV6) == (s[0] == '['), "IPv6 kind");
    FUZZ_CHECK(addr_format(&a, text, sizeof(text)) == 0, "addr_format");
    FUZZ_CHECK(addr_parse(&b, text, flags) == 0, "formatted text refused");
    FUZZ_CHECK(same(&a, &b), "formatted text parses to another address");
    FUZZ_CHECK(addr_format(&b, again, sizeof(again)) == 0 &&
                   strcmp(text, again) == 0,
               "formatting is not stable");
    check_format_sizes(&a, text);
  }
  check_nodeinfo(s, addr_parse(&b, s, 0));
  free(s);
  return 0;
}
