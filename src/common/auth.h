/* SPDX-License-Identifier: MIT */
/* Who may call: mutual TLS credentials and the tokens sent as call
 * metadata, shared by the three programs.
 *
 * Two tokens, both optional:
 *  - the cluster token (--token-file) admits ring members: every ring-face
 *    and membership call needs it once it is set;
 *  - the client token (--client-token-file) admits clients to the file
 *    calls (Read, Write, Delete, Lookup, Status, GetNode, ListNodes); the
 *    cluster token is accepted there too, since nodes forward them.
 * A call's token is compared in constant time (digests of equal length).
 * TLS is on when --tls-cert, --tls-key and --tls-ca are all given: servers
 * then require a client certificate signed by the CA, and clients verify
 * the server's against it. Each flag falls back to an environment
 * variable (CHORD_TOKEN_FILE, CHORD_CLIENT_TOKEN_FILE, CHORD_TLS_CERT,
 * CHORD_TLS_KEY, CHORD_TLS_CA), so one environment configures a whole
 * local cluster and its chordctl. */
#ifndef CHORD_AUTH_H
#define CHORD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#define AUTH_TOKEN_KEY "x-chord-token" /* call metadata key */
#define AUTH_TOKEN_MAX 1024            /* longest token, bytes */
#define AUTH_PEM_MAX (1 << 20)         /* largest PEM file, bytes */
#define AUTH_DIGEST_LEN 32             /* SHA-256 */

/* What a method asks of its caller, and what a caller proved. */
enum auth_level {
  AUTH_OPEN = 0,   /* anyone (health checks) */
  AUTH_CLIENT = 1, /* the client token or the cluster token */
  AUTH_RING = 2,   /* the cluster token */
};

/* The option values as given (file paths; NULL when absent). */
struct auth_opts {
  const char *token_file;
  const char *client_token_file;
  const char *tls_cert, *tls_key, *tls_ca;
  const char *tls_server_name; /* a name, not a file */
};

struct auth {
  char *token; /* the cluster token this program sends; NULL = none */
  bool has_cluster, has_client;
  unsigned char cluster_digest[AUTH_DIGEST_LEN];
  unsigned char client_digest[AUTH_DIGEST_LEN];
  char *cert, *key, *ca; /* PEM text; all set or all NULL */
  char *server_name;     /* checked in server certificates instead of the
                            dialed host; NULL = the host */
};

/* Option names and their environment fallbacks, for usage texts. */
#define AUTH_HELP                                                          \
  "  --token-file FILE        cluster token, sent and required on ring\n"  \
  "                           calls ($CHORD_TOKEN_FILE)\n"                 \
  "  --client-token-file FILE token required on file calls\n"              \
  "                           ($CHORD_CLIENT_TOKEN_FILE)\n"                \
  "  --tls-cert FILE          this program's certificate, PEM\n"           \
  "                           ($CHORD_TLS_CERT)\n"                         \
  "  --tls-key FILE           its private key, PEM ($CHORD_TLS_KEY)\n"     \
  "  --tls-ca FILE            the CA that signs every peer, PEM\n"         \
  "                           ($CHORD_TLS_CA); the three turn on mutual\n" \
  "                           TLS\n"                                       \
  "  --tls-server-name NAME   the name every server certificate must\n"    \
  "                           carry, when addresses change (containers;\n" \
  "                           $CHORD_TLS_SERVER_NAME; default: the host)\n"

/* The long options, for a getopt_long table: their values are
 * first, first + 1, ... first + AUTH_NOPTS - 1, in this order. */
#define AUTH_NOPTS 6
#define AUTH_LONG_OPTIONS(first)                                   \
  {"token-file", required_argument, NULL, (first)},                \
      {"client-token-file", required_argument, NULL, (first) + 1}, \
      {"tls-cert", required_argument, NULL, (first) + 2},          \
      {"tls-key", required_argument, NULL, (first) + 3},           \
      {"tls-ca", required_argument, NULL, (first) + 4},            \
  {                                                                \
    "tls-server-name", required_argument, NULL, (first) + 5        \
  }
/* Stores the value of option i (0 .. AUTH_NOPTS - 1) of that table. */
void auth_opts_set(struct auth_opts *o, int i, const char *value);
/* A node's secret (see supernode.proto's JoinRequest): 16 random bytes
 * from the OS. 0 or CHORD_EINTERNAL. */
#define AUTH_SECRET_LEN 16
#define AUTH_SECRET_MIN 16
#define AUTH_SECRET_MAX 64
int auth_secret_new(unsigned char *out, size_t len);
/* The public incarnation of a secret: SHA-256's first 8 bytes, big-endian. */
uint64_t auth_incarnation(const unsigned char *secret, size_t len);
/* Whether two byte strings are equal, in time that depends on the lengths
 * only. */
bool auth_equal(const unsigned char *a, size_t alen, const unsigned char *b,
                size_t blen);

/* Fills unset fields of o from the environment. */
void auth_opts_from_env(struct auth_opts *o);
/* Reads the files o names into a (zeroed first). 0, or CHORD_EINVAL with
 * a one-line reason in err (an unreadable or empty file, a token that is
 * not printable ASCII, TLS files given only in part). */
int auth_load(struct auth *a, const struct auth_opts *o, char *err,
              size_t errlen);
/* Frees what auth_load read (the token is wiped first). */
void auth_free(struct auth *a);
bool auth_tls(const struct auth *a);

/* New credentials for a server or a channel (TLS or insecure), released by
 * the caller. NULL when gRPC refuses them. */
grpc_server_credentials *auth_server_creds(const struct auth *a);
grpc_channel_credentials *auth_channel_creds(const struct auth *a);

/* GRPC_STATUS_OK when a caller presenting token (NULL: none) may call a
 * method that needs `need`; else UNAUTHENTICATED (no token) or
 * PERMISSION_DENIED (a wrong one). A token that matches neither
 * configured token is refused on every guarded method, even one whose
 * level no token guards, so a mistyped token is an error, not ignored.
 * member (may be NULL) is set to whether the same token passes the ring
 * level, from the same digest. */
grpc_status_code auth_check(const struct auth *a, enum auth_level need,
                            const char *token, size_t len, bool *member);

#endif
