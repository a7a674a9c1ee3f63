/*
 * Golden files of the C unit tests (test/golden/make_*_golden.py): '#'
 * comments, other lines "<section> <name> <count> <value> ...", values
 * printed with repr so that they read back as the same doubles.
 */
#ifndef TTSP_TEST_GOLDEN_H
#define TTSP_TEST_GOLDEN_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECORDS 128

typedef struct record
{
	char		key[64];
	double	   *v;
	size_t		n;
} record;

static record records[MAX_RECORDS];
static int	n_records;

static int
load_golden(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;

	if (f == NULL)
		return 0;
	while (getline(&line, &cap, f) > 0 && n_records < MAX_RECORDS)
	{
		char		sec[32],
					name[32];
		int			off;
		record	   *r = &records[n_records];
		char	   *p;

		if (line[0] == '#' || sscanf(line, "%31s %31s %zu%n", sec, name, &r->n, &off) != 3)
			continue;
		snprintf(r->key, sizeof(r->key), "%s %s", sec, name);
		r->v = malloc(sizeof(double) * r->n);
		p = line + off;
		for (size_t i = 0; i < r->n; i++)
			r->v[i] = strtod(p, &p);
		n_records++;
	}
	free(line);
	fclose(f);
	return n_records > 0;
}

static const record *
find(const char *sec, const char *name)
{
	char		key[64];

	snprintf(key, sizeof(key), "%s %s", sec, name);
	for (int i = 0; i < n_records; i++)
		if (strcmp(records[i].key, key) == 0)
			return &records[i];
	fprintf(stderr, "golden record \"%s\" missing\n", key);
	exit(1);
}

/* max |got - want| / max |want| */
static double
rel_error(const double *got, const double *want, size_t n)
{
	double		top = 0,
				worst = 0;

	for (size_t i = 0; i < n; i++)
		top = fmax(top, fabs(want[i]));
	for (size_t i = 0; i < n; i++)
	{
		double		e = fabs(got[i] - want[i]) / fmax(top, 1e-300);

		if (!(e <= worst))
			worst = isnan(e) ? INFINITY : e;
	}
	return worst;
}

#endif
