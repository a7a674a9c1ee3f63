/*
 * hugemem: zeroed, 2 MB aligned memory that is all usable, in a mapping
 * /proc/self/maps shows until ttsp_unmap, which is idempotent.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hugemem.h"
#include "tap.h"

/* Whether a mapping in /proc/self/maps holds the address p. */
static int
holds(const void *p)
{
	FILE	   *f = fopen("/proc/self/maps", "r");
	char		line[512];
	int			found = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
	{
		unsigned long start,
					end;

		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start <= (uintptr_t) p && (uintptr_t) p < end)
			found = 1;
	}
	fclose(f);
	return found;
}

int
main(void)
{
	size_t		n = (3u << 20) + 12345;
	ttsp_mapping m;
	unsigned char *p = ttsp_map_zeroed(n, &m);
	size_t		nonzero = 0;
	void	   *map;

	ok(p != NULL && ((uintptr_t) p & ((2u << 20) - 1)) == 0, "memory is 2 MB aligned");
	for (size_t i = 0; p && i < n; i++)
		nonzero += p[i] != 0;
	ok(p && nonzero == 0, "and zeroed (%zu non-zero bytes of %zu)", nonzero, n);
	if (p)
		memset(p, 0xab, n);
	ok(p && p[n - 1] == 0xab && m.len >= n + (size_t) (p - (unsigned char *) m.map), "all of it is writable, inside the mapping");
	map = p;
	ok(holds(map) == 1, "the mapping is in /proc/self/maps");
	ttsp_unmap(&m);
	ok(m.map == NULL && m.len == 0 && holds(map) == 0, "ttsp_unmap releases it and clears the handle");
	ttsp_unmap(&m);
	ok(m.map == NULL, "a second ttsp_unmap does nothing");
	ok(ttsp_map_zeroed(0, &m) == NULL && m.map == NULL, "0 bytes is NULL, nothing mapped");
	ok(ttsp_map_zeroed(SIZE_MAX - 1, &m) == NULL && m.map == NULL, "an impossible size is NULL, nothing mapped");
	return done_testing();
}
