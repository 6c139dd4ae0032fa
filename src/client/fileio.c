/* SPDX-License-Identifier: MIT */
/* chordctl's local files: the content to write comes from a file or
 * standard input, within --max-size; the content read goes to standard
 * output, or to a file that is replaced whole or not at all. */
#include "client/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/escape.h"
#include "client/output.h"

#define READ_CHUNK 65536 /* first buffer for input of unknown size */

/* Reads the content to write from path ("-": standard input), refusing
 * more than ctl->max_size bytes: it reads at most one byte more, so an
 * endless input costs no more memory than that. On 0, *data (the caller
 * frees it; NULL for an empty input) and *len hold the content. Otherwise
 * it returns OUTPUT_EXIT_REFUSED (too large) or OUTPUT_EXIT_FAILURE
 * (cannot open or read, out of memory) after printing "what: why", and
 * *data is untouched. Standard input is left open. Main thread. */
int fileio_read_input(struct chordctl *ctl, const char *what, const char *path,
                      uint8_t **data, size_t *len)
{
  bool is_stdin = strcmp(path, "-") == 0;
  size_t limit = (size_t)ctl->max_size + 1, cap = 0, n = 0;
  size_t first = READ_CHUNK;
  uint8_t *buf = NULL;
  struct stat st;
  char q[OUTPUT_WHAT_MAX];
  int fd, rc = OUTPUT_EXIT_FAILURE;

  if (is_stdin)
    snprintf(q, sizeof(q), "standard input");
  else
    escape_quote(q, sizeof(q), path, strlen(path));
  fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    output_error(ctl, "%s: cannot open %s: %s", what, q, strerror(errno));
    return OUTPUT_EXIT_FAILURE;
  }
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t at = is_stdin ? lseek(fd, 0, SEEK_CUR) : 0;
    uint64_t size =
        at >= 0 && st.st_size > at ? (uint64_t)(st.st_size - at) : 0;
    if (size > ctl->max_size) {
      output_error(ctl,
                   "%s: the file is %" PRIu64 " bytes, over the %" PRIu64
                   "-byte limit",
                   what, size, ctl->max_size);
      rc = OUTPUT_EXIT_REFUSED;
      goto cleanup;
    }
    first = (size_t)size + 1; /* one more read sees the end */
  }
  for (;;) {
    if (n == cap) {
      if (cap == limit)
        break;
      size_t ncap = cap ? cap * 2 : first;
      if (ncap > limit)
        ncap = limit;
      uint8_t *nb = realloc(buf, ncap);
      if (!nb) {
        output_error(ctl, "%s: out of memory reading %s", what, q);
        goto cleanup;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      output_error(ctl, "%s: cannot read %s: %s", what, q, strerror(errno));
      goto cleanup;
    }
    if (got == 0)
      break;
    n += (size_t)got;
  }
  if (n > ctl->max_size) {
    output_error(ctl, "%s: the input is over the %" PRIu64 "-byte limit", what,
                 ctl->max_size);
    rc = OUTPUT_EXIT_REFUSED;
    goto cleanup;
  }
  *data = buf;
  *len = n;
  buf = NULL;
  rc = 0;

cleanup:
  free(buf);
  if (!is_stdin)
    close(fd);
  return rc;
}

/* Writes data to path through a temporary file in the same directory,
 * synced and renamed over path, so path is either untouched or complete.
 * A new file gets 0666 less the umask; a replaced one keeps its mode.
 * 0, or OUTPUT_EXIT_FAILURE after printing why (the temporary is
 * removed). */
static int save_output(struct chordctl *ctl, const char *what, const char *path,
                       const uint8_t *data, size_t len)
{
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = path + dirlen;
  char q[OUTPUT_WHAT_MAX], *tmp = NULL, *dir = NULL;
  const char *failed = NULL;
  struct stat st;
  mode_t mode, mask;
  int fd = -1, dfd, err = 0, rc = OUTPUT_EXIT_FAILURE;
  size_t done = 0;

  escape_quote(q, sizeof(q), path, strlen(path));
  tmp = malloc(dirlen + strlen(base) + 16);
  dir = dirlen ? strndup(path, dirlen) : strdup(".");
  if (!tmp || !dir) {
    output_error(ctl, "%s: out of memory saving to %s", what, q);
    goto cleanup;
  }
  memcpy(tmp, path, dirlen);
  sprintf(tmp + dirlen, ".%s.XXXXXX", base);
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    output_error(ctl, "%s: cannot create a temporary file next to %s: %s", what,
                 q, strerror(errno));
    goto cleanup;
  }
  if (stat(path, &st) == 0) {
    mode = st.st_mode & 07777;
  } else {
    mask = umask(0);
    umask(mask);
    mode = 0666 & ~mask;
  }
  if (fchmod(fd, mode)) {
    failed = "set the mode of";
    goto fail_tmp;
  }
  while (done < len) {
    ssize_t w = write(fd, data + done, len - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      failed = "write";
      goto fail_tmp;
    }
    done += (size_t)w;
  }
  if (fsync(fd)) {
    failed = "sync";
    goto fail_tmp;
  }
  err = close(fd);
  fd = -1;
  if (err) {
    failed = "write";
    goto fail_tmp;
  }
  if (rename(tmp, path)) {
    failed = "replace";
    goto fail_tmp;
  }
  /* Make the rename itself durable; a failure here loses nothing. */
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  rc = 0;
  goto cleanup;

fail_tmp:
  err = errno;
  if (fd >= 0)
    close(fd);
  fd = -1;
  unlink(tmp);
  output_error(ctl, "%s: cannot %s %s: %s", what, failed, q, strerror(err));
cleanup:
  free(dir);
  free(tmp);
  return rc;
}

/* Writes the content to standard output, checking that all of it went.
 * 0, or OUTPUT_EXIT_FAILURE after printing why. */
static int write_stdout(struct chordctl *ctl, const char *what,
                        const uint8_t *data, size_t len)
{
  if ((len && fwrite(data, 1, len, stdout) != len) || fflush(stdout)) {
    output_error(ctl, "%s: cannot write to standard output: %s", what,
                 strerror(errno));
    return OUTPUT_EXIT_FAILURE;
  }
  return 0;
}

/* Writes the content read, data[0..len), to path: standard output when
 * path is "-" (nothing else is written there, and it is flushed), else
 * path is replaced atomically as save_output does. what starts the error
 * messages. Returns 0, or OUTPUT_EXIT_FAILURE after printing why. */
int fileio_write_output(struct chordctl *ctl, const char *what,
                        const char *path, const uint8_t *data, size_t len)
{
  if (strcmp(path, "-") == 0)
    return write_stdout(ctl, what, data, len);
  return save_output(ctl, what, path, data, len);
}
