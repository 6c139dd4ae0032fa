/* SPDX-License-Identifier: MIT */
/* chordctl's argument scanning: flags as "NAME VALUE" or "NAME=VALUE", a
 * command's options and positional arguments, and the checks of a file
 * name and an address given on the command line. */
#include "client/args.h"

#include <string.h>

#include "common/escape.h"
#include "client/output.h"
#include "common/addr.h"
#include "common/name.h"

/* Whether a is one of the global flags (given after the command). */
static bool is_global_flag(const char *a)
{
  static const char *const flags[] = {
      "--json",     "--node",       "--supernode", "--timeout",
      "--max-size", "--chunk-size", "--window",    "--quiet",
      "--route",    "--ring-cache", "--ring-ttl"};
  for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
    size_t n = strlen(flags[i]);
    if (strncmp(a, flags[i], n) == 0 && (a[n] == '\0' || a[n] == '='))
      return true;
  }
  return false;
}

/* The option of opts[0..n) that a names, or NULL; sets *val when a
 * carries the value itself ("--output=F", "-oF"). */
static const struct args_opt *find_opt(const struct args_opt *opts, size_t n,
                                       const char *a, const char **val)
{
  const struct args_opt *o = NULL;
  for (size_t k = 0; k < n && !o; k++) {
    size_t ll = strlen(opts[k].lng);
    if (strcmp(a, opts[k].lng) == 0 ||
        (opts[k].shrt && strcmp(a, opts[k].shrt) == 0)) {
      o = &opts[k];
    } else if (opts[k].value && strncmp(a, opts[k].lng, ll) == 0 &&
               a[ll] == '=') {
      o = &opts[k];
      *val = a + ll + 1;
    } else if (opts[k].value && opts[k].shrt &&
               strncmp(a, opts[k].shrt, 2) == 0) {
      o = &opts[k]; /* "-oFILE" */
      *val = a + 2;
    }
  }
  return o;
}

/* Splits the arguments of command argv[0] into spec's options (switches
 * are set to true, values point into argv) and positional arguments,
 * stored in pos with their count in *npos. Everything after "--" is
 * positional, and so is "-". Returns 0, or OUTPUT_EXIT_USAGE after saying
 * what is wrong: an unknown option, a global flag after the command, a
 * missing value, or fewer than spec->min or more than spec->max
 * positional arguments (spec->max <= ARGS_MAX_POS). */
int args_parse(struct chordctl *ctl, int argc, char **argv,
               const struct args_spec *spec, const char *pos[ARGS_MAX_POS],
               size_t *npos)
{
  const char *cmd = argv[0];
  bool only_pos = false;
  char q[64];

  *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = NULL;
    const struct args_opt *o;
    if (!only_pos && strcmp(a, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (only_pos || a[0] != '-' || a[1] == '\0') {
      if (*npos == spec->max && spec->max == 0)
        return output_usage(ctl, cmd, "%s: takes no arguments", cmd);
      if (*npos == spec->max)
        return output_usage(ctl, cmd, "%s: too many arguments, expected %s",
                            cmd, spec->expect);
      pos[(*npos)++] = a;
      continue;
    }
    o = find_opt(spec->opts, spec->nopts, a, &val);
    escape_quote(q, sizeof(q), a, strlen(a));
    if (!o && is_global_flag(a))
      return output_usage(ctl, NULL,
                          "%s: %s is a global option and goes before the "
                          "command",
                          cmd, q);
    if (!o)
      return output_usage(ctl, cmd, "%s: unknown option %s", cmd, q);
    if (!o->value) {
      *o->on = true;
      continue;
    }
    if (!val) {
      if (i + 1 >= argc)
        return output_usage(ctl, cmd, "%s: %s needs a value", cmd, q);
      val = argv[++i];
    }
    *o->value = val;
  }
  if (*npos < spec->min)
    return output_usage(ctl, cmd, "%s: expected %s", cmd, spec->expect);
  return 0;
}

/* Whether argv[*i] is the flag name, as "NAME VALUE" or "NAME=VALUE". If
 * so, sets *val to the value (NULL when "NAME" is the last argument) and
 * moves *i to the last argument used; otherwise leaves both alone. */
bool args_flag_value(int argc, char **argv, int *i, const char *name,
                     const char **val)
{
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0)
    return false;
  if (a[n] == '=') {
    *val = a + n + 1;
    return true;
  }
  if (a[n] != '\0')
    return false;
  *val = *i + 1 < argc ? argv[++*i] : NULL;
  return true;
}

/* Whether argv[1..argc) holds "--help" or "-h" before any "--": the
 * command's help is asked for, whatever else is there. */
bool args_wants_help(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return false;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return true;
  }
  return false;
}

/* Returns 0 when name is a valid file name (name_check), else
 * OUTPUT_EXIT_REFUSED after printing "what: why". */
int args_check_name(struct chordctl *ctl, const char *what, const char *name)
{
  const char *why = NULL;
  if (name_check(name, strlen(name), &why) == 0)
    return 0;
  output_error(ctl, "%s: %s", what, why);
  return OUTPUT_EXIT_REFUSED;
}

/* Returns 0 when addr, an argument of command cmd, is a HOST:PORT
 * address, else OUTPUT_EXIT_USAGE after saying so. */
int args_check_addr(struct chordctl *ctl, const char *cmd, const char *addr)
{
  char q[64];
  if (addr_validate(addr, 0) == 0)
    return 0;
  escape_quote(q, sizeof(q), addr, strlen(addr));
  return output_usage(ctl, cmd, "%s: %s is not a HOST:PORT address", cmd, q);
}
