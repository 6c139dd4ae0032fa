/* SPDX-License-Identifier: MIT */
/* chordctl's local output: the content read goes to standard output, or
 * to a file that is replaced whole or not at all (the input side is
 * chunked.c's). */
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

#include "common/escape.h"
#include "client/output.h"

/* Says that the step failed on o's file (errno), removes the temporary
 * and returns OUTPUT_EXIT_FAILURE. */
static int out_fail(struct chordctl *ctl, const char *what,
                    struct fileio_out *o, const char *step)
{
  int err = errno;
  fileio_out_abort(o);
  output_error(ctl, "%s: cannot %s %s: %s", what, step, o->q, strerror(err));
  return OUTPUT_EXIT_FAILURE;
}

/* Creates the temporary file next to path that fileio_out_commit renames
 * over it: ".BASE.XXXXXX", with path's mode when it exists, else 0666 less
 * the umask. */
static int out_create(struct chordctl *ctl, const char *what,
                      struct fileio_out *o, const char *path)
{
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = path + dirlen;
  struct stat st;
  mode_t mode, mask;

  escape_quote(o->q, sizeof(o->q), path, strlen(path));
  o->tmp = malloc(dirlen + strlen(base) + 16);
  o->dir = dirlen ? strndup(path, dirlen) : strdup(".");
  o->path = path;
  if (!o->tmp || !o->dir) {
    output_error(ctl, "%s: out of memory saving to %s", what, o->q);
    return OUTPUT_EXIT_FAILURE;
  }
  memcpy(o->tmp, path, dirlen);
  sprintf(o->tmp + dirlen, ".%s.XXXXXX", base);
  o->fd = mkostemp(o->tmp, O_CLOEXEC);
  if (o->fd < 0) {
    output_error(ctl, "%s: cannot create a temporary file next to %s: %s", what,
                 o->q, strerror(errno));
    return OUTPUT_EXIT_FAILURE;
  }
  if (stat(path, &st) == 0) {
    mode = st.st_mode & 07777;
  } else {
    mask = umask(0);
    umask(mask);
    mode = 0666 & ~mask;
  }
  if (fchmod(o->fd, mode))
    return out_fail(ctl, what, o, "set the mode of");
  return 0;
}

int fileio_out_open(struct chordctl *ctl, const char *what, const char *path,
                    struct fileio_out *o)
{
  memset(o, 0, sizeof(*o));
  o->fd = -1;
  if (strcmp(path, "-") == 0) {
    o->is_stdout = true;
    return 0;
  }
  int rc = out_create(ctl, what, o, path);
  if (rc)
    fileio_out_abort(o);
  return rc;
}

int fileio_out_write(struct chordctl *ctl, const char *what,
                     struct fileio_out *o, const uint8_t *data, size_t len)
{
  size_t done = 0;
  if (o->is_stdout) {
    if (len && fwrite(data, 1, len, stdout) != len) {
      output_error(ctl, "%s: cannot write to standard output: %s", what,
                   strerror(errno));
      return OUTPUT_EXIT_FAILURE;
    }
    return 0;
  }
  while (done < len) {
    ssize_t w = write(o->fd, data + done, len - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return out_fail(ctl, what, o, "write");
    done += (size_t)w;
  }
  return 0;
}

int fileio_out_commit(struct chordctl *ctl, const char *what,
                      struct fileio_out *o)
{
  int dfd, err;
  if (o->is_stdout) {
    if (fflush(stdout)) {
      output_error(ctl, "%s: cannot write to standard output: %s", what,
                   strerror(errno));
      return OUTPUT_EXIT_FAILURE;
    }
    return 0;
  }
  if (fsync(o->fd))
    return out_fail(ctl, what, o, "sync");
  err = close(o->fd);
  o->fd = -1;
  if (err)
    return out_fail(ctl, what, o, "write");
  if (rename(o->tmp, o->path))
    return out_fail(ctl, what, o, "replace");
  free(o->tmp);
  o->tmp = NULL;
  /* Make the rename itself durable; a failure here loses nothing. */
  dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  fileio_out_abort(o);
  return 0;
}

void fileio_out_abort(struct fileio_out *o)
{
  if (o->fd >= 0)
    close(o->fd);
  o->fd = -1;
  if (o->tmp)
    unlink(o->tmp);
  free(o->tmp);
  free(o->dir);
  o->tmp = o->dir = NULL;
}

/* Writes data to path through a temporary file in the same directory,
 * synced and renamed over path, so path is either untouched or complete.
 * 0, or OUTPUT_EXIT_FAILURE after printing why (the temporary is
 * removed). */
static int save_output(struct chordctl *ctl, const char *what, const char *path,
                       const uint8_t *data, size_t len)
{
  struct fileio_out o;
  int rc = fileio_out_open(ctl, what, path, &o);
  if (!rc)
    rc = fileio_out_write(ctl, what, &o, data, len);
  if (!rc)
    rc = fileio_out_commit(ctl, what, &o);
  if (rc)
    fileio_out_abort(&o);
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
