/*
 * memtest: the Linux guest's migration workload (tern.test=memtest).  It
 * dirties memory continuously and checks its own data, so a page that a
 * migration loses or delivers stale shows up as an error inside the guest.
 *
 * Usage: memtest MIB ROUNDS.  Each round writes a round-specific value into
 * the first and last 8 bytes of every 4 KiB page of a MIB MiB buffer, then
 * reads every page back and compares.  Output (the console protocol
 * tests/linux/init documents):
 *   memtest: round N ok | memtest: round N: E errors
 *   TERN-MEMTEST-ERROR round R page P: got X want Y   (the first few)
 *   TERN-MEMTEST-DONE rounds=N errors=E
 * Built static by build.sh; it must stay cheap: the guest runs emulated at
 * ~1-2 M instructions/s, so it touches two words per page, not every byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define PAGE 4096
#define WORDS_PER_PAGE (PAGE / 8)
#define MAX_REPORTS 10

static uint64_t memtest_value(uint64_t round, uint64_t page, unsigned which)
{
	uint64_t x = (round << 32) ^ (page << 1) ^ which ^ 0x9e3779b97f4a7c15ull;

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ull;
}

static void memtest_write(uint64_t *buf, uint64_t pages, uint64_t round)
{
	for (uint64_t p = 0; p < pages; p++) {
		buf[p * WORDS_PER_PAGE] = memtest_value(round, p, 0);
		buf[p * WORDS_PER_PAGE + WORDS_PER_PAGE - 1] = memtest_value(round, p, 1);
	}
}

static uint64_t memtest_check(const uint64_t *buf, uint64_t pages, uint64_t round,
			      uint64_t *reported)
{
	uint64_t errors = 0;

	for (uint64_t p = 0; p < pages; p++) {
		for (unsigned w = 0; w < 2; w++) {
			uint64_t got = buf[p * WORDS_PER_PAGE + (w ? WORDS_PER_PAGE - 1 : 0)];
			uint64_t want = memtest_value(round, p, w);

			if (got == want)
				continue;
			errors++;
			if ((*reported)++ < MAX_REPORTS)
				printf("TERN-MEMTEST-ERROR round %llu page %llu: got %016llx want %016llx\n",
				       (unsigned long long)round, (unsigned long long)p,
				       (unsigned long long)got, (unsigned long long)want);
		}
	}
	return errors;
}

int main(int argc, char **argv)
{
	uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 16;
	uint64_t rounds = argc > 2 ? strtoull(argv[2], NULL, 0) : 100;
	uint64_t pages = mib * 256, errors = 0, reported = 0;
	uint64_t *buf = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (buf == MAP_FAILED) {
		printf("TERN-MEMTEST-DONE rounds=0 errors=1 (cannot map %llu MiB)\n",
		       (unsigned long long)mib);
		return 1;
	}
	for (uint64_t r = 1; r <= rounds; r++) {
		uint64_t e;

		memtest_write(buf, pages, r);
		e = memtest_check(buf, pages, r, &reported);
		errors += e;
		if (e)
			printf("memtest: round %llu: %llu errors\n", (unsigned long long)r,
			       (unsigned long long)e);
		else
			printf("memtest: round %llu ok\n", (unsigned long long)r);
	}
	printf("TERN-MEMTEST-DONE rounds=%llu errors=%llu\n", (unsigned long long)rounds,
	       (unsigned long long)errors);
	return errors != 0;
}
