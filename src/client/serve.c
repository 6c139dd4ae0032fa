/* SPDX-License-Identifier: MIT */
/* chordctl serve: the live ring page. Serves the page (embedded in the
 * binary) and a small JSON API whose answers are chordctl's own --json
 * output: each API call runs this chordctl again, with the same global
 * options (supernode, TLS, token), as a child process. The daemons grow no
 * web server; the page sees exactly what the operator's chordctl sees. */
#include "client/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>
#include <sys/socket.h>

#include "client/output.h"
#include "common/addr.h"
#include "common/escape.h"
#include "common/http.h"
#include "common/name.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:8080"
#define SERVE_MAX_OUTPUT ((size_t)16 << 20) /* a child's JSON, at most */
#define SERVE_CHILD_ARGS 8

extern char **environ;
extern const char serve_page[];
extern const size_t serve_page_len;

struct serve {
  struct chordctl *ctl;
};

/* Reads fd to its end into *buf (malloc'd, NUL-terminated); false when it
 * is larger than SERVE_MAX_OUTPUT or memory runs out. */
static bool read_all(int fd, char **buf, size_t *len)
{
  size_t cap = 65536;
  *len = 0;
  *buf = malloc(cap);
  if (!*buf)
    return false;
  for (;;) {
    if (*len + 1 == cap) {
      char *n = cap >= SERVE_MAX_OUTPUT ? NULL : realloc(*buf, cap * 2);
      if (!n)
        return false;
      *buf = n;
      cap *= 2;
    }
    ssize_t got = read(fd, *buf + *len, cap - 1 - *len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    *len += (size_t)got;
  }
  (*buf)[*len] = '\0';
  return true;
}

/* Runs this chordctl with the global options and then args (NULL-ended);
 * *out = its standard output and its exit code, or -1 when it could not
 * run. Standard error goes to the server's. */
static int run_self(struct serve *s, const char *const *args, char **out,
                    size_t *len)
{
  struct chordctl *ctl = s->ctl;
  char *argv[64 + SERVE_CHILD_ARGS];
  int n = 0, pipefd[2], status = 0;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  pid_t pid;

  argv[n++] = "chordctl";
  for (int i = 1; i < ctl->global_argc && n < 64; i++)
    argv[n++] = ctl->global_argv[i];
  for (int i = 0; args[i] && i < SERVE_CHILD_ARGS - 1; i++)
    argv[n++] = (char *)args[i];
  argv[n] = NULL;
  *out = NULL;
  if (pipe2(pipefd, O_CLOEXEC))
    return -1;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  /* This thread blocks SIGINT and SIGTERM (serve_run waits for them):
   * the child must not inherit that. */
  sigemptyset(&none);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  int rc = posix_spawn(&pid, "/proc/self/exe", &fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  if (rc) {
    close(pipefd[0]);
    return -1;
  }
  bool ok = read_all(pipefd[0], out, len);
  close(pipefd[0]);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!ok) {
    free(*out);
    *out = NULL;
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* {"error": msg} with the given HTTP code. */
static enum MHD_Result error_json(struct MHD_Connection *conn, unsigned code,
                                  const char *msg)
{
  char esc[512], *body = malloc(600);
  if (!body)
    return MHD_NO;
  escape_buf(esc, sizeof(esc), msg, strlen(msg), true, true);
  int n = snprintf(body, 600, "{\"error\":%s}\n", esc);
  return http_respond(conn, code, "application/json", body, (size_t)n, true);
}

/* Runs a chordctl command for the API. Its JSON goes back as it came,
 * with 200 when it succeeded and 502 when the cluster could not answer
 * (its JSON then says why, when it printed any). */
static enum MHD_Result api(struct serve *s, struct MHD_Connection *conn,
                           const char *const *args)
{
  char *out;
  size_t len;
  int code = run_self(s, args, &out, &len);
  if (code < 0)
    return error_json(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                      "could not run chordctl");
  if (len == 0) {
    free(out);
    return error_json(conn, MHD_HTTP_BAD_GATEWAY,
                      code == 1 ? "not found"
                                : "the cluster did not answer (see the "
                                  "server's standard error)");
  }
  return http_respond(conn, code == 0 ? MHD_HTTP_OK : MHD_HTTP_BAD_GATEWAY,
                      "application/json", out, len, true);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
  struct serve *s = cls;
  (void)version;
  (void)upload;
  (void)upload_len;
  (void)state;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return error_json(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET");
  if (strcmp(url, "/") == 0)
    return http_respond(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
                        serve_page, serve_page_len, false);
  if (strcmp(url, "/api/ring") == 0) {
    const char *args[] = {"--json", "ring", NULL};
    return api(s, conn, args);
  }
  if (strcmp(url, "/api/status") == 0) {
    const char *node =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "node");
    if (!node || addr_validate(node, 0))
      return error_json(conn, MHD_HTTP_BAD_REQUEST,
                        "status needs node=HOST:PORT");
    const char *args[] = {"--json", "status", node, "--all-fingers", NULL};
    return api(s, conn, args);
  }
  if (strcmp(url, "/api/lookup") == 0) {
    const char *name =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "name");
    const char *why;
    if (!name || name_check(name, strlen(name), &why))
      return error_json(conn, MHD_HTTP_BAD_REQUEST,
                        "lookup needs name=NAME (1 to 1024 bytes of UTF-8)");
    /* The ring route: the page draws the path along the fingers. */
    const char *args[] = {"--route", "ring", "--json", "lookup",
                          "--",      name,   NULL};
    return api(s, conn, args);
  }
  return error_json(conn, MHD_HTTP_NOT_FOUND,
                    "not found: the page is at /, the API at /api/ring, "
                    "/api/status?node=H:P and /api/lookup?name=N");
}

int serve_run(struct chordctl *ctl, int argc, char **argv)
{
  const char *listen = SERVE_DEFAULT_LISTEN;
  struct serve s = {ctl};
  struct addr a;
  sigset_t set;
  int sig;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
      listen = argv[++i];
    else
      return output_usage(ctl, "serve", "serve: unexpected argument %s",
                          argv[i]);
  }
  if (addr_parse(&a, listen, 0))
    return output_usage(ctl, "serve", "serve: --listen %s is not HOST:PORT",
                        listen);
  /* Blocked before the server's thread starts, so that it inherits the
   * mask and the signals come to sigwait below. */
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  char err[256];
  struct MHD_Daemon *d = http_start(listen, "the ring page", on_request, &s, 32,
                                    30, err, sizeof(err));
  if (!d) {
    output_error(ctl, "serve: %s", err);
    return OUTPUT_EXIT_FAILURE;
  }
  fprintf(stderr, "chordctl: the ring page is at http://%s/ (Ctrl-C stops)\n",
          listen);
  while (sigwait(&set, &sig) != 0)
    ;
  MHD_stop_daemon(d);
  return 0;
}
