/* Zeroed, 2 MB aligned mappings advised for transparent huge pages (hugemem.h). */
#include "hugemem.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t) 2 << 20)

void *
ttsp_map_zeroed(size_t bytes, ttsp_mapping *m)
{
	/* rounded up to whole huge pages, plus one for the alignment */
	size_t		len = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE + HUGE_PAGE;
	char	   *map;
	char	   *aligned;

	m->map = NULL;
	m->len = 0;
	if (bytes == 0 || bytes > SIZE_MAX - 2 * HUGE_PAGE)
		return NULL;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	aligned = (char *) (((uintptr_t) map + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
#ifdef MADV_HUGEPAGE
	/* advice only: without huge pages it still works, with more faults */
	(void) madvise(aligned, len - (size_t) (aligned - map), MADV_HUGEPAGE);
#endif
	m->map = map;
	m->len = len;
	return aligned;
}

void
ttsp_unmap(ttsp_mapping *m)
{
	if (m->map != NULL)
		munmap(m->map, m->len);
	m->map = NULL;
	m->len = 0;
}
