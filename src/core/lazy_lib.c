/* Shared libraries loaded on first use: see lazy_lib.h for why. */
#include "lazy_lib.h"

#include <dlfcn.h>
#include <string.h>

#define MAX_SONAMES 8

static void
close_all(void **handle, int n)
{
	while (n-- > 0)
		dlclose(handle[n]);
}

ttsp_status
ttsp_lazy_load(ttsp_lazy_lib *lib, ttsp_error *err)
{
	void	   *handle[MAX_SONAMES];

	if (lib->loaded)
		return TTSP_OK;
	if (lib->n_sonames > MAX_SONAMES)
		return ttsp_fail(err, TTSP_EINTERNAL, "%s: too many libraries", lib->what);
	for (int i = 0; i < lib->n_sonames; i++)
	{
		/* kept for the life of the process once all is found, like a linked library */
		handle[i] = dlopen(lib->sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (handle[i] == NULL)
		{
			ttsp_fail(err, TTSP_EUNSUPPORTED, "cannot load %s's %s: %s",
					  lib->what, lib->sonames[i], dlerror());
			close_all(handle, i);
			return TTSP_EUNSUPPORTED;
		}
	}
	for (size_t i = 0; i < lib->n_fns; i++)
	{
		const ttsp_lazy_fn *f = &lib->fns[i];
		void	   *fn = dlsym(handle[f->lib], f->name);

		if (fn == NULL)
		{
			ttsp_fail(err, TTSP_EUNSUPPORTED, "%s's %s has no %s",
					  lib->what, lib->sonames[f->lib], f->name);
			close_all(handle, lib->n_sonames);
			/* no pointer into a closed library is left behind */
			memset(lib->api, 0, lib->api_size);
			return TTSP_EUNSUPPORTED;
		}
		memcpy((char *) lib->api + f->offset, &fn, sizeof(fn));
	}
	lib->loaded = true;
	return TTSP_OK;
}
