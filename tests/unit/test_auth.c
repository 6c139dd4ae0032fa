/* SPDX-License-Identifier: MIT */
/* Unit tests for auth and the supernode's identities: which token opens
 * which method (the whole truth table), what a token file may hold, TLS
 * files all or none, the incarnation of a secret, and secrets kept per
 * member id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/auth.h"
#include "common/err.h"
#include "supernode/identity.h"

static char dir[] = "/tmp/chord-auth-XXXXXX";

static const char *file_with(const char *name, const char *text)
{
  static char path[4][256];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return p;
}

static int setup(void **state)
{
  (void)state;
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* A cluster token "ring-secret" and, when client, a client token
 * "client-secret". */
static void load(struct auth *a, bool cluster, bool client)
{
  struct auth_opts o = {0};
  char err[256];
  if (cluster)
    o.token_file = file_with("token", "  ring-secret\n");
  if (client)
    o.client_token_file = file_with("ctoken", "client-secret\r\n");
  assert_int_equal(auth_load(a, &o, err, sizeof(err)), 0);
}

static grpc_status_code check(const struct auth *a, enum auth_level need,
                              const char *token)
{
  bool member, ring_ok;
  grpc_status_code code =
      auth_check(a, need, token, token ? strlen(token) : 0, &member);
  /* member is what the ring level would say for the same token. */
  ring_ok = auth_check(a, AUTH_RING, token, token ? strlen(token) : 0, NULL) ==
            GRPC_STATUS_OK;
  assert_int_equal(member, ring_ok);
  return code;
}

static void test_open_cluster_admits_all(void **state)
{
  struct auth a;
  (void)state;
  load(&a, false, false);
  for (int need = AUTH_OPEN; need <= AUTH_RING; need++) {
    assert_int_equal(check(&a, need, NULL), GRPC_STATUS_OK);
    assert_int_equal(check(&a, need, "anything"), GRPC_STATUS_OK);
  }
  auth_free(&a);
}

static void test_cluster_token_only(void **state)
{
  struct auth a;
  (void)state;
  load(&a, true, false);
  /* The file's white space is not part of the token. */
  assert_string_equal(a.token, "ring-secret");
  assert_int_equal(check(&a, AUTH_RING, "ring-secret"), GRPC_STATUS_OK);
  assert_int_equal(check(&a, AUTH_RING, NULL), GRPC_STATUS_UNAUTHENTICATED);
  assert_int_equal(check(&a, AUTH_RING, "ring-secreT"),
                   GRPC_STATUS_PERMISSION_DENIED);
  assert_int_equal(check(&a, AUTH_RING, ""), GRPC_STATUS_PERMISSION_DENIED);
  assert_int_equal(check(&a, AUTH_RING, "ring-secret "),
                   GRPC_STATUS_PERMISSION_DENIED);
  /* File calls are open without a client token, but a wrong token is
   * still an error. */
  assert_int_equal(check(&a, AUTH_CLIENT, NULL), GRPC_STATUS_OK);
  assert_int_equal(check(&a, AUTH_CLIENT, "ring-secret"), GRPC_STATUS_OK);
  assert_int_equal(check(&a, AUTH_CLIENT, "nope"),
                   GRPC_STATUS_PERMISSION_DENIED);
  assert_int_equal(check(&a, AUTH_OPEN, "nope"), GRPC_STATUS_OK);
  auth_free(&a);
}

static void test_both_tokens(void **state)
{
  struct auth a;
  (void)state;
  load(&a, true, true);
  assert_int_equal(check(&a, AUTH_CLIENT, "client-secret"), GRPC_STATUS_OK);
  assert_int_equal(check(&a, AUTH_CLIENT, "ring-secret"), GRPC_STATUS_OK);
  assert_int_equal(check(&a, AUTH_CLIENT, NULL), GRPC_STATUS_UNAUTHENTICATED);
  assert_int_equal(check(&a, AUTH_CLIENT, "x"), GRPC_STATUS_PERMISSION_DENIED);
  /* The client token opens nothing of the ring. */
  assert_int_equal(check(&a, AUTH_RING, "client-secret"),
                   GRPC_STATUS_PERMISSION_DENIED);
  assert_int_equal(check(&a, AUTH_RING, "ring-secret"), GRPC_STATUS_OK);
  assert_int_equal(check(&a, AUTH_OPEN, NULL), GRPC_STATUS_OK);
  auth_free(&a);
}

static void test_client_token_only(void **state)
{
  struct auth a;
  (void)state;
  load(&a, false, true);
  assert_null(a.token); /* nothing to send */
  assert_int_equal(check(&a, AUTH_RING, NULL), GRPC_STATUS_OK);
  assert_int_equal(check(&a, AUTH_CLIENT, NULL), GRPC_STATUS_UNAUTHENTICATED);
  assert_int_equal(check(&a, AUTH_CLIENT, "client-secret"), GRPC_STATUS_OK);
  auth_free(&a);
}

static void test_bad_files_are_refused(void **state)
{
  static const char *const bad[] = {"",          " \n\t",   "two words",
                                    "tab\there", "nul\x01", "caf\xc3\xa9"};
  struct auth a;
  char err[256];
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct auth_opts o = {.token_file = file_with("bad", bad[i])};
    err[0] = '\0';
    assert_int_equal(auth_load(&a, &o, err, sizeof(err)), CHORD_EINVAL);
    assert_non_null(strstr(err, "token file"));
    assert_null(a.token);
  }
  char *big = malloc(AUTH_TOKEN_MAX + 2);
  memset(big, 'a', AUTH_TOKEN_MAX + 1);
  big[AUTH_TOKEN_MAX + 1] = '\0';
  struct auth_opts o = {.token_file = file_with("big", big)};
  assert_int_equal(auth_load(&a, &o, err, sizeof(err)), CHORD_EINVAL);
  big[AUTH_TOKEN_MAX] = '\0';
  o.token_file = file_with("max", big);
  assert_int_equal(auth_load(&a, &o, err, sizeof(err)), 0);
  assert_int_equal(strlen(a.token), AUTH_TOKEN_MAX);
  auth_free(&a);
  free(big);
  o = (struct auth_opts){.token_file = "/nonexistent/token"};
  assert_int_equal(auth_load(&a, &o, err, sizeof(err)), CHORD_EINVAL);
  assert_non_null(strstr(err, "cannot open"));
}

static void test_tls_files_go_together(void **state)
{
  struct auth a;
  char err[256];
  const char *pem = file_with("x.pem", "-----BEGIN CERTIFICATE-----\nx\n");
  (void)state;
  struct auth_opts o = {.tls_cert = pem, .tls_key = pem};
  assert_int_equal(auth_load(&a, &o, err, sizeof(err)), CHORD_EINVAL);
  assert_non_null(strstr(err, "all three"));
  o.tls_ca = file_with("junk", "not pem");
  assert_int_equal(auth_load(&a, &o, err, sizeof(err)), CHORD_EINVAL);
  assert_non_null(strstr(err, "not a PEM file"));
  o.tls_ca = pem;
  o.tls_server_name = "bad name";
  assert_int_equal(auth_load(&a, &o, err, sizeof(err)), CHORD_EINVAL);
  o.tls_server_name = "chord.example";
  assert_int_equal(auth_load(&a, &o, err, sizeof(err)), 0);
  assert_true(auth_tls(&a));
  assert_string_equal(a.server_name, "chord.example");
  auth_free(&a);
  /* A server name without TLS is a mistake, not ignored. */
  o = (struct auth_opts){.tls_server_name = "chord"};
  assert_int_equal(auth_load(&a, &o, err, sizeof(err)), CHORD_EINVAL);
}

static void test_incarnation(void **state)
{
  unsigned char s1[AUTH_SECRET_LEN], s2[AUTH_SECRET_LEN];
  (void)state;
  assert_int_equal(auth_secret_new(s1, sizeof(s1)), 0);
  assert_int_equal(auth_secret_new(s2, sizeof(s2)), 0);
  assert_memory_not_equal(s1, s2, sizeof(s1));
  assert_true(auth_incarnation(s1, sizeof(s1)) ==
              auth_incarnation(s1, sizeof(s1)));
  assert_true(auth_incarnation(s1, sizeof(s1)) !=
              auth_incarnation(s2, sizeof(s2)));
  /* SHA-256("abc") begins ba7816bf8f01cfea. */
  assert_true(auth_incarnation((const unsigned char *)"abc", 3) ==
              0xba7816bf8f01cfeaull);
  assert_true(auth_equal(s1, 16, s1, 16));
  assert_false(auth_equal(s1, 16, s1, 15));
  assert_false(auth_equal(s1, 16, s2, 16));
}

static bool keep_odd(void *ud, const struct chord_id *id)
{
  (void)ud;
  return id->b[CHORD_ID_BYTES - 1] & 1;
}

static void test_identities(void **state)
{
  struct identities *t = identities_create();
  struct chord_id ids[40];
  unsigned char sec[AUTH_SECRET_LEN] = "0123456789abcdef";
  (void)state;
  for (int i = 0; i < 40; i++) {
    memset(&ids[i], 0, sizeof(ids[i]));
    ids[i].b[CHORD_ID_BYTES - 1] = (uint8_t)i;
    assert_int_equal(identities_match(t, &ids[i], sec, sizeof(sec)),
                     IDENTITY_UNKNOWN);
    sec[0] = (unsigned char)i;
    assert_int_equal(identities_put(t, &ids[i], sec, sizeof(sec)), 0);
  }
  for (int i = 0; i < 40; i++) {
    sec[0] = (unsigned char)i;
    assert_int_equal(identities_match(t, &ids[i], sec, sizeof(sec)),
                     IDENTITY_SAME);
    assert_int_equal(identities_match(t, &ids[i], sec, sizeof(sec) - 1),
                     IDENTITY_OTHER);
    sec[0] = (unsigned char)(i + 1);
    assert_int_equal(identities_match(t, &ids[i], sec, sizeof(sec)),
                     IDENTITY_OTHER);
  }
  /* A new secret replaces the old one (a restart). */
  sec[0] = 200;
  assert_int_equal(identities_put(t, &ids[3], sec, sizeof(sec)), 0);
  assert_int_equal(identities_match(t, &ids[3], sec, sizeof(sec)),
                   IDENTITY_SAME);
  identities_drop(t, &ids[5]);
  assert_int_equal(identities_match(t, &ids[5], sec, sizeof(sec)),
                   IDENTITY_UNKNOWN);
  identities_prune(t, keep_odd, NULL);
  for (int i = 0; i < 40; i++) {
    sec[0] = i == 3 ? 200 : (unsigned char)i;
    enum identity_match m = identities_match(t, &ids[i], sec, sizeof(sec));
    assert_int_equal(m, (i & 1) && i != 5 ? IDENTITY_SAME : IDENTITY_UNKNOWN);
  }
  assert_int_equal(identities_put(t, &ids[0], sec, AUTH_SECRET_MAX + 1),
                   CHORD_EINVAL);
  identities_destroy(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_cluster_admits_all),
      cmocka_unit_test(test_cluster_token_only),
      cmocka_unit_test(test_both_tokens),
      cmocka_unit_test(test_client_token_only),
      cmocka_unit_test(test_bad_files_are_refused),
      cmocka_unit_test(test_tls_files_go_together),
      cmocka_unit_test(test_incarnation),
      cmocka_unit_test(test_identities),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
