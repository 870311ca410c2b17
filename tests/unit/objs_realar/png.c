/* libpng16.a (+ libz.a): a 16x16 RGBA image written to memory with the
 * simplified API, read back, compared. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    enum { W = 16, H = 16 };
    static unsigned char px[W * H * 4], back[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        px[4 * i] = (unsigned char)(i * 3), px[4 * i + 1] = (unsigned char)(i * 5);
        px[4 * i + 2] = (unsigned char)(255 - i), px[4 * i + 3] = 255;
    }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = W, img.height = H, img.format = PNG_FORMAT_RGBA;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&img, NULL, &size, 0, px, 0, NULL))
        return printf("size: %s\n", img.message), 1;
    void *buf = malloc(size);
    if (!png_image_write_to_memory(&img, buf, &size, 0, px, 0, NULL))
        return printf("write: %s\n", img.message), 1;
    printf("png: %dx%d, %lu bytes, signature %s\n", W, H, (unsigned long)size,
           png_sig_cmp(buf, 0, 8) == 0 ? "ok" : "bad");
    png_image in;
    memset(&in, 0, sizeof in);
    in.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&in, buf, size))
        return printf("read: %s\n", in.message), 1;
    in.format = PNG_FORMAT_RGBA;
    if (!png_image_finish_read(&in, NULL, back, 0, NULL))
        return printf("finish: %s\n", in.message), 1;
    int same = memcmp(px, back, sizeof px) == 0;
    printf("read back %ux%u: %s; libpng %s\n", in.width, in.height, same ? "same pixels" : "DIFFERENT",
           png_get_libpng_ver(NULL));
    free(buf);
    return same ? 0 : 1;
}
