/* SPDX-License-Identifier: MIT */
/*
 * Repeated launch-to-exit timing and peak RSS of a command.
 *
 * Usage: bench_spawn [-r RUNS] [-w WARMUP] [-s STATUS] [-o FILE] -- CMD [ARG...]
 *
 * Runs CMD WARMUP times untimed, then RUNS times timed.  Each run is
 * fork + execvp + wait4; the time is CLOCK_MONOTONIC from just before fork to
 * just after wait4 returns, so it includes process creation, dynamic
 * linking, the VMM's setup, the guest, and teardown.  Peak RSS is the
 * child's ru_maxrss from wait4 (KiB).  fork (not vfork/posix_spawn) is used
 * on purpose: with a shared address space the kernel would charge this
 * process's RSS to the child's high-water mark at exec.
 *
 * The child's stdin is /dev/null, stdout goes to FILE (-o) or /dev/null,
 * stderr to /dev/null.  Every run must end with exit status STATUS
 * (default 0; 128+N for a signal), else bench_spawn reports the mismatch
 * and exits 1.
 *
 * Prints one line of key=value pairs:
 *   runs= median_us= min_us= max_us= cpu_us= rss_kib= rss_max_kib= status=
 * where cpu_us is the median user+system CPU time of the child (all its
 * threads) and rss_kib the median peak RSS over the timed runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u;
}

/* One run: returns 0 and fills the figures, or -1. */
static int run_once(char **argv, const char *out_path, uint64_t *ns, uint64_t *cpu_ns,
		    uint64_t *rss_kib, int *status)
{
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("bench_spawn: fork");
		return -1;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644)
				   : open("/dev/null", O_WRONLY);
		int err = open("/dev/null", O_WRONLY);
		if (in < 0 || out < 0 || err < 0)
			_exit(126);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int wstatus;
	struct rusage ru;
	while (wait4(pid, &wstatus, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("bench_spawn: wait4");
			return -1;
		}
	}
	*ns = now_ns() - t0;
	*cpu_ns = tv_ns(&ru.ru_utime) + tv_ns(&ru.ru_stime);
	*rss_kib = (uint64_t)ru.ru_maxrss;
	*status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 10, warmup = 2, want = 0, opt;
	const char *out_path = NULL;
	while ((opt = getopt(argc, argv, "+r:w:s:o:")) != -1) {
		switch (opt) {
		case 'r':
			runs = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		case 's':
			want = atoi(optarg);
			break;
		case 'o':
			out_path = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind >= argc || runs < 1 || warmup < 0)
		goto usage;
	char **cmd = argv + optind;

	uint64_t *ns = calloc(runs, sizeof(*ns));
	uint64_t *cpu = calloc(runs, sizeof(*cpu));
	uint64_t *rss = calloc(runs, sizeof(*rss));
	if (!ns || !cpu || !rss)
		return 1;
	uint64_t rss_max = 0;
	for (int i = -warmup; i < runs; i++) {
		uint64_t t, c, r;
		int st;
		if (run_once(cmd, out_path, &t, &c, &r, &st) < 0)
			return 1;
		if (st != want) {
			printf("runs=0 status=%d want_status=%d\n", st, want);
			fprintf(stderr, "bench_spawn: %s exited with status %d, expected %d\n",
				cmd[0], st, want);
			return 1;
		}
		if (i < 0)
			continue;
		ns[i] = t;
		cpu[i] = c;
		rss[i] = r;
		if (r > rss_max)
			rss_max = r;
	}
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < runs; i++) {
		lo = ns[i] < lo ? ns[i] : lo;
		hi = ns[i] > hi ? ns[i] : hi;
	}
	uint64_t med = median(ns, runs);
	printf("runs=%d median_us=%.1f min_us=%.1f max_us=%.1f cpu_us=%.1f rss_kib=%llu "
	       "rss_max_kib=%llu status=%d\n",
	       runs, med / 1e3, lo / 1e3, hi / 1e3, median(cpu, runs) / 1e3,
	       (unsigned long long)median(rss, runs), (unsigned long long)rss_max, want);
	return 0;
usage:
	fprintf(stderr,
		"usage: bench_spawn [-r RUNS] [-w WARMUP] [-s STATUS] [-o FILE] -- CMD [ARG...]\n");
	return 2;
}
