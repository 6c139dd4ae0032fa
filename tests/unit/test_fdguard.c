/* SPDX-License-Identifier: MIT */
/* Unit tests for fdguard's two readings: descriptors in use, and the
 * connections waiting in a listener's accept queue (what tells a listener
 * that gRPC stopped serving from a busy one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fdguard.h"

static void test_count_fds(void **state)
{
  int fds[10];
  (void)state;
  int before = fdguard_count_fds();
  assert_true(before > 2);
  for (int i = 0; i < 10; i++)
    assert_true((fds[i] = open("/dev/null", O_RDONLY)) >= 0);
  assert_int_equal(fdguard_count_fds(), before + 10);
  for (int i = 0; i < 10; i++)
    close(fds[i]);
  assert_int_equal(fdguard_count_fds(), before);
}

static void test_accept_queue(void **state)
{
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof(a);
  int c[3];
  (void)state;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(l >= 0);
  assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(l, 16), 0);
  assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
  int port = ntohs(a.sin_port);
  assert_int_equal(fdguard_accept_queue(port), 0);
  for (int i = 0; i < 3; i++) {
    c[i] = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c[i], (struct sockaddr *)&a, sizeof(a)), 0);
  }
  /* Nobody accepts: all three wait. */
  assert_int_equal(fdguard_accept_queue(port), 3);
  int s = accept(l, NULL, NULL);
  assert_true(s >= 0);
  assert_int_equal(fdguard_accept_queue(port), 2);
  close(s);
  for (int i = 0; i < 3; i++)
    close(c[i]);
  close(l);
  assert_int_equal(fdguard_accept_queue(port), 0);
}

static void test_raise_limit(void **state)
{
  struct rlimit rl;
  (void)state;
  uint64_t lim = fdguard_raise_limit();
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  assert_true(rl.rlim_cur == rl.rlim_max);
  assert_true(lim == (uint64_t)rl.rlim_cur || rl.rlim_cur == RLIM_INFINITY);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_count_fds),
      cmocka_unit_test(test_accept_queue),
      cmocka_unit_test(test_raise_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
