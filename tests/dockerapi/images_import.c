// test-labels: engine
/* Image import from a tar stream, against the real engine. */
#include <string.h>

#include "support.h"

Test(images_import, busybox_test_image_exists_after_import) {
  dk_client *c = t_client();
  t_busybox_image(c);
  dk_image_info *info = NULL;
  t_ok(dk_image_inspect(&info, c, T_BUSYBOX_IMAGE));
  cr_assert(info->id && !strncmp(info->id, "sha256:", 7), "id %s", info->id);
  int tagged = 0;
  for (char **t = info->repo_tags; *t; t++)
    tagged |= !strcmp(*t, T_BUSYBOX_IMAGE);
  cr_assert(tagged, "tag missing");
  dk_image_info_free(info);
  dk_client_free(c);
}

Test(images_import, garbage_tar_is_an_error) {
  dk_client *c = t_client();
  int rc = dk_image_import_mem(c, "not a tar at all", 16, "judger-test/garbage", "1");
  cr_assert_neq(rc, 0, "garbage imported");
  cr_assert(dk_error_last() && dk_error_last()->message[0]);
  dk_client_free(c);
}
