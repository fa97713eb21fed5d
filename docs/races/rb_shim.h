/* SPDX-License-Identifier: MIT */
/* TEMPORARY (races-b): program-specific flags until lab.h has them
 * (.races-b-requests item 1).  Removed when lab.h's own lands. */
#ifndef RB_SHIM_H
#define RB_SHIM_H
#include "lab.h"

struct lab_flag {
	const char *name; /* "--name N" */
	const char *help;
	long *value;
	long min, max;
};

static inline int rb_main(const struct lab_prog *p, const struct lab_flag *flags, int nflags,
			  int argc, char **argv)
{
	int out = 1;
	for (int i = 1; i < argc; i++) {
		bool taken = false;
		for (int f = 0; f < nflags; f++) {
			size_t len = strlen(flags[f].name);
			if (strncmp(argv[i], "--", 2) || strncmp(argv[i] + 2, flags[f].name, len))
				continue;
			const char *val = NULL;
			if (argv[i][2 + len] == '=')
				val = argv[i] + 3 + len;
			else if (argv[i][2 + len] == 0 && i + 1 < argc)
				val = argv[++i];
			else
				continue;
			long v;
			if (!lab__parse_num(val, flags[f].min, flags[f].max, &v)) {
				fprintf(stderr, "%s: bad number '%s' for --%s\n", p->name, val, flags[f].name);
				return 2;
			}
			*flags[f].value = v;
			taken = true;
			break;
		}
		if (!taken)
			argv[out++] = argv[i];
		if (!strcmp(argv[i], "--help"))
			for (int f = 0; f < nflags; f++)
				printf("  --%-12s %s (default %ld)\n", flags[f].name, flags[f].help, *flags[f].value);
	}
	argv[out] = NULL;
	return lab_main(p, out, argv);
}
#endif
