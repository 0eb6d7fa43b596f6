// SPDX-License-Identifier: MIT
/*
 * Model-checks src/dax/entry_lock.pml with spin: the real protocol must have
 * no error (no deadlock, no lost wake-up, no assertion failure), and each
 * broken variant must have at least one. Usage: test_dax_spin MODEL.pml
 */
#include <stdbool.h>
#include <unistd.h>

#include "testlib.h"

static const struct variant {
	const char *define;
	bool broken;
} variants[] = {
	{"", false},
	{"-DBROKEN_PMD_WAIT_ON_PTE", true},
	{"-DBROKEN_WAKE_ONE_ON_DELETE", true},
	{"-DBROKEN_WAKE_ANY_KEY", true},
};

/* Reads pan's "errors: N" and "N states, stored" lines (-1 when missing). */
static void read_pan_log(const char *path, long *errors, long *states)
{
	char line[512];
	FILE *f = fopen(path, "r");

	CHECK(f);
	*errors = *states = -1;
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, "errors: ");

		if (at)
			*errors = strtol(at + strlen("errors: "), NULL, 10);
		if (strstr(line, "states, stored"))
			*states = strtol(line, NULL, 10);
	}
	fclose(f);
}

static void check_variant(const char *dir, const char *model, const struct variant *v)
{
	char cmd[16384], log[4200];
	long errors, states;

	snprintf(log, sizeof(log), "%s/pan.log", dir);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && rm -f pan pan.* && spin %s -a '%s' >spin.log 2>&1 && "
		 "cc -O2 -w -DSAFETY -DCOLLAPSE -o pan pan.c && ./pan -m100000 >pan.log 2>&1",
		 dir, v->define, model);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/spin.log' '%s' >&2", dir, log);
		(void)system(cmd);
		test_fail(__FILE__, __LINE__, "spin/pan failed for %s", v->define);
	}
	read_pan_log(log, &errors, &states);
	printf("model%s%s: %ld states stored, errors: %ld\n", *v->define ? " " : "", v->define,
	       states, errors);
	CHECK(states > 0);
	if (v->broken)
		CHECK(errors > 0);
	else
		CHECK_EQ(errors, 0);
}

int main(int argc, char **argv)
{
	char model[4096];

	test_watchdog(60);
	if (argc != 2)
		test_fail(__FILE__, __LINE__, "usage: test_dax_spin MODEL.pml");
	if (system("command -v spin >/dev/null 2>&1") != 0)
		test_skip("spin is not installed (Debian package spin)");
	CHECK(realpath(argv[1], model));
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		check_variant(test_tmpdir(), model, &variants[i]);
	return 0;
}
