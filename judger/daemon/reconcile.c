/* Startup reconciliation (see reconcile.h). */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/context.h"
#include "common/labels.h"
#include "common/util.h"
#include "daemon/reconcile.h"

/* Counts one removal's outcome: gone already (404) is neither a removal nor
 * a failure; the first failure's code is kept in *first. */
static void count_removal(jd_reconcile_report *rep, size_t *removed, int *first, int rc) {
  if (rc == 0) {
    (*removed)++;
  } else if (rc != DK_ENOTFOUND) {
    rep->failures++;
    if (!*first)
      *first = rc;
  }
}

int jd_reconcile_engine(jd_reconcile_report *rep, dk_client *dk, const char *host_id) {
  char label[300];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, host_id);
  const char *labels[] = {label, NULL};
  int first = 0;
  dk_container_list *cl = NULL;
  int rc = dk_container_list_by_label(&cl, dk, true, labels);
  if (rc)
    return rc;
  /* force: running containers of a dead judger are killed too. */
  for (size_t i = 0; i < cl->count; i++)
    count_removal(rep, &rep->containers, &first,
                  dk_container_remove(dk, cl->items[i].id, true, true));
  dk_container_list_free(cl);
  dk_network_list *nl = NULL;
  rc = dk_network_list_by_label(&nl, dk, labels);
  if (rc)
    return first ? first : rc;
  for (size_t i = 0; i < nl->count; i++)
    count_removal(rep, &rep->networks, &first, dk_network_remove(dk, nl->items[i].id));
  dk_network_list_free(nl);
  return first;
}

/* True when some container (of any host, any state) carries
 * judger.run=<run_key>: the work directory may still be in use. */
static int run_in_use(bool *used, dk_client *dk, const char *run_key) {
  char label[PATH_MAX];
  snprintf(label, sizeof label, "judger.run=%s", run_key);
  const char *labels[] = {label, NULL};
  dk_container_list *cl = NULL;
  int rc = dk_container_list_by_label(&cl, dk, true, labels);
  if (rc)
    return rc;
  *used = cl->count > 0;
  dk_container_list_free(cl);
  return 0;
}

int jd_reconcile_workdirs(jd_reconcile_report *rep, dk_client *dk, const char *state_dir) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/matches", state_dir) >= (int)sizeof dir)
    return DK_EINVAL;
  DIR *d = opendir(dir);
  if (!d)
    return 0; /* no match ever ran here */
  int first = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
      continue;
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    bool used = true;
    int rc = run_in_use(&used, dk, de->d_name);
    if (rc) {
      if (!first)
        first = rc;
      continue;
    }
    if (used)
      continue;
    if (jd_rm_rf(path) == 0)
      rep->workdirs++;
    else
      rep->failures++;
  }
  closedir(d);
  return first;
}
