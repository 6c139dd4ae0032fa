/* SPDX-License-Identifier: MIT */
/* Tokens and TLS credentials: loading them from files, checking a call's
 * token in constant time, and making gRPC credentials. */
#include "common/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/err.h"

static const struct {
  size_t off;
  const char *env;
} opt_map[AUTH_NOPTS] = {
    {offsetof(struct auth_opts, token_file), "CHORD_TOKEN_FILE"},
    {offsetof(struct auth_opts, client_token_file), "CHORD_CLIENT_TOKEN_FILE"},
    {offsetof(struct auth_opts, tls_cert), "CHORD_TLS_CERT"},
    {offsetof(struct auth_opts, tls_key), "CHORD_TLS_KEY"},
    {offsetof(struct auth_opts, tls_ca), "CHORD_TLS_CA"},
    {offsetof(struct auth_opts, tls_server_name), "CHORD_TLS_SERVER_NAME"},
};

void auth_opts_set(struct auth_opts *o, int i, const char *value)
{
  if (i >= 0 && i < AUTH_NOPTS)
    *(const char **)((char *)o + opt_map[i].off) = value;
}

void auth_opts_from_env(struct auth_opts *o)
{
  for (size_t i = 0; i < AUTH_NOPTS; i++) {
    const char **f = (const char **)((char *)o + opt_map[i].off);
    const char *v = getenv(opt_map[i].env);
    if (!*f && v && *v)
      *f = v;
  }
}

/* Reads all of path (at most max bytes) into a NUL-terminated buffer. */
static int read_file(const char *path, size_t max, char **out, size_t *len,
                     char *err, size_t errlen)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0;
  if (!f) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return CHORD_EINVAL;
  }
  buf = malloc(max + 2);
  if (!buf) {
    snprintf(err, errlen, "out of memory reading %s", path);
    goto fail;
  }
  n = fread(buf, 1, max + 1, f);
  if (ferror(f)) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    goto fail;
  }
  if (n > max) {
    snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
    goto fail;
  }
  fclose(f);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;

fail:
  free(buf);
  fclose(f);
  return CHORD_EINVAL;
}

/* Reads a token file: its text without surrounding white space, printable
 * ASCII only (gRPC metadata values), 1 to AUTH_TOKEN_MAX bytes. */
static int read_token(const char *path, char **out, char *err, size_t errlen)
{
  char *t;
  size_t n;
  int rc = read_file(path, AUTH_TOKEN_MAX + 64, &t, &n, err, errlen);
  if (rc)
    return rc;
  size_t b = 0;
  while (b < n && (t[b] == ' ' || t[b] == '\t' || t[b] == '\n' || t[b] == '\r'))
    b++;
  while (n > b && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\n' ||
                   t[n - 1] == '\r'))
    n--;
  memmove(t, t + b, n - b);
  n -= b;
  t[n] = '\0';
  const char *why = NULL;
  if (n == 0)
    why = "is empty";
  else if (n > AUTH_TOKEN_MAX)
    why = "holds a token longer than 1024 bytes";
  for (size_t i = 0; !why && i < n; i++)
    if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
      why = "holds a token with a space, a control character or a byte "
            "outside ASCII";
  if (why) {
    snprintf(err, errlen, "token file %s %s", path, why);
    OPENSSL_cleanse(t, n);
    free(t);
    return CHORD_EINVAL;
  }
  *out = t;
  return 0;
}

static void digest(const char *s, size_t len, unsigned char *out)
{
  SHA256((const unsigned char *)s, len, out);
}

int auth_load(struct auth *a, const struct auth_opts *o, char *err,
              size_t errlen)
{
  size_t n;
  int rc;
  memset(a, 0, sizeof(*a));
  if (o->token_file) {
    rc = read_token(o->token_file, &a->token, err, errlen);
    if (rc)
      goto fail;
    a->has_cluster = true;
    digest(a->token, strlen(a->token), a->cluster_digest);
  }
  if (o->client_token_file) {
    char *t;
    rc = read_token(o->client_token_file, &t, err, errlen);
    if (rc)
      goto fail;
    a->has_client = true;
    digest(t, strlen(t), a->client_digest);
    OPENSSL_cleanse(t, strlen(t));
    free(t);
  }
  int given = !!o->tls_cert + !!o->tls_key + !!o->tls_ca;
  if (given && given != 3) {
    snprintf(err, errlen,
             "--tls-cert, --tls-key and --tls-ca go together: give all "
             "three or none");
    rc = CHORD_EINVAL;
    goto fail;
  }
  if (given) {
    const char *paths[3] = {o->tls_cert, o->tls_key, o->tls_ca};
    char **dst[3] = {&a->cert, &a->key, &a->ca};
    for (int i = 0; i < 3; i++) {
      rc = read_file(paths[i], AUTH_PEM_MAX, dst[i], &n, err, errlen);
      if (rc)
        goto fail;
      if (!strstr(*dst[i], "-----BEGIN ")) {
        snprintf(err, errlen, "%s is not a PEM file", paths[i]);
        rc = CHORD_EINVAL;
        goto fail;
      }
    }
  }
  if (o->tls_server_name) {
    const char *s = o->tls_server_name;
    size_t len = strlen(s);
    bool ok = given && len > 0 && len < 254;
    for (size_t i = 0; ok && i < len; i++)
      ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
           (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.';
    if (!ok) {
      snprintf(err, errlen,
               given ? "--tls-server-name must be a host name"
                     : "--tls-server-name needs --tls-cert, --tls-key and "
                       "--tls-ca");
      rc = CHORD_EINVAL;
      goto fail;
    }
    a->server_name = strdup(s);
    if (!a->server_name) {
      snprintf(err, errlen, "out of memory");
      rc = CHORD_ENOMEM;
      goto fail;
    }
  }
  return 0;

fail:
  auth_free(a);
  return rc;
}

void auth_free(struct auth *a)
{
  if (a->token) {
    OPENSSL_cleanse(a->token, strlen(a->token));
    free(a->token);
  }
  if (a->key) {
    OPENSSL_cleanse(a->key, strlen(a->key));
    free(a->key);
  }
  free(a->cert);
  free(a->ca);
  free(a->server_name);
  memset(a, 0, sizeof(*a));
}

bool auth_tls(const struct auth *a)
{
  return a->cert != NULL;
}

grpc_server_credentials *auth_server_creds(const struct auth *a)
{
  if (!auth_tls(a))
    return grpc_insecure_server_credentials_create();
  grpc_ssl_pem_key_cert_pair pair = {a->key, a->cert};
  return grpc_ssl_server_credentials_create_ex(
      a->ca, &pair, 1,
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
}

grpc_channel_credentials *auth_channel_creds(const struct auth *a)
{
  if (!auth_tls(a))
    return grpc_insecure_credentials_create();
  grpc_ssl_pem_key_cert_pair pair = {a->key, a->cert};
  return grpc_ssl_credentials_create(a->ca, &pair, NULL, NULL);
}

grpc_status_code auth_check(const struct auth *a, enum auth_level need,
                            const char *token, size_t len, bool *member)
{
  bool cluster = false, client = false;
  if (token && (a->has_cluster || a->has_client)) {
    unsigned char d[AUTH_DIGEST_LEN];
    digest(token, len, d);
    /* Both compared every time, each in constant time. */
    cluster = a->has_cluster & !CRYPTO_memcmp(d, a->cluster_digest, sizeof(d));
    client = a->has_client & !CRYPTO_memcmp(d, a->client_digest, sizeof(d));
  }
  bool open = !a->has_cluster && !a->has_client;
  bool wrong = !open && token && !cluster && !client;
  if (member) /* what the ring level would answer, from the same digest */
    *member = open || (!wrong && (!a->has_cluster || cluster));
  if (need == AUTH_OPEN || open)
    return GRPC_STATUS_OK;
  if (wrong)
    return GRPC_STATUS_PERMISSION_DENIED;
  bool ok = need == AUTH_RING ? !a->has_cluster || cluster
                              : cluster || client || !a->has_client;
  if (ok)
    return GRPC_STATUS_OK;
  return token ? GRPC_STATUS_PERMISSION_DENIED : GRPC_STATUS_UNAUTHENTICATED;
}

int auth_secret_new(unsigned char *out, size_t len)
{
  return RAND_bytes(out, (int)len) == 1 ? 0 : CHORD_EINTERNAL;
}

uint64_t auth_incarnation(const unsigned char *secret, size_t len)
{
  unsigned char d[AUTH_DIGEST_LEN];
  uint64_t v = 0;
  SHA256(secret, len, d);
  for (int i = 0; i < 8; i++)
    v = v << 8 | d[i];
  return v;
}

bool auth_equal(const unsigned char *a, size_t alen, const unsigned char *b,
                size_t blen)
{
  return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}
