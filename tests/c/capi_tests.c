/* C tests of libruvector_cnn, compiled by tests/build.rs (C11, -Wall -Wextra -Werror
 * -pedantic) and run from tests/tests/c_api.rs. Each CHECK failure is printed with the
 * library's last error message and counted; rvcnn_ctest_run returns the count. */
#include "ruvector_cnn.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Layout mirrored by const asserts in capi/src/embedder.rs. */
_Static_assert(sizeof(rvcnn_embedder_options) == 28, "rvcnn_embedder_options size");
_Static_assert(_Alignof(rvcnn_embedder_options) == 4, "rvcnn_embedder_options align");
_Static_assert(offsetof(rvcnn_embedder_options, threads) == 20, "threads offset");
_Static_assert(sizeof(rvcnn_image) == 40, "rvcnn_image size");
_Static_assert(_Alignof(rvcnn_image) == 8, "rvcnn_image align");
_Static_assert(offsetof(rvcnn_image, data_len) == 8, "data_len offset");
_Static_assert(offsetof(rvcnn_image, width) == 16, "width offset");
_Static_assert(offsetof(rvcnn_image, stride) == 24, "stride offset");
_Static_assert(offsetof(rvcnn_image, format) == 32, "format offset");
_Static_assert(sizeof(rvcnn_status) == sizeof(int), "status is an int-sized enum");

#define DIM 576 /* MobileNetV3-Small pooled features */
/* Input size of most test embedders: every code path of a 224 input at a fifth of the work
   (valgrind runs these tests); the default-options embedder and the C example use 224. */
#define TEST_SIZE 96

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A w x h image with `pad` bytes after each row, `ch` bytes per pixel. */
static unsigned char *make_pixels(int w, int h, int ch, int pad, int seed) {
    size_t stride = (size_t)(w * ch + pad);
    unsigned char *p = malloc(stride * (size_t)h);
    int x, y, c;
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            for (c = 0; c < ch; c++)
                p[(size_t)y * stride + (size_t)(x * ch + c)] =
                    (unsigned char)((x * 7 + y * 13 + c * 61 + seed * 29) % 251);
    return p;
}

static rvcnn_image image_of(const unsigned char *p, int w, int h, int ch, int pad, uint32_t fmt) {
    rvcnn_image img;
    img.data = p;
    img.stride = (size_t)(w * ch + pad);
    img.data_len = img.stride * (size_t)h;
    img.width = (uint32_t)w;
    img.height = (uint32_t)h;
    img.format = fmt;
    return img;
}

static void test_library(void) {
    const char *name = NULL;
    int s;
    CHECK(rvcnn_version() != NULL && strlen(rvcnn_version()) > 0);
    for (s = 0; s <= 8; s++) {
        const char *msg = rvcnn_status_string(s);
        CHECK(msg != NULL && strlen(msg) > 0 && strcmp(msg, "unknown status") != 0);
        if (s > 0) CHECK(strcmp(msg, rvcnn_status_string(s - 1)) != 0);
    }
    CHECK(strcmp(rvcnn_status_string(9), "unknown status") == 0);
    CHECK(strcmp(rvcnn_status_string(-1), "unknown status") == 0);
    CHECK(rvcnn_isa_active(&name) == RVCNN_STATUS_OK && name != NULL);
    CHECK(rvcnn_isa_detected(&name) == RVCNN_STATUS_OK && name != NULL);
    CHECK(rvcnn_isa_active(NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(strstr(rvcnn_last_error_message(), "NULL") != NULL);
}

static void test_create_errors(const char *weights_path, const unsigned char *bytes, size_t len) {
    rvcnn_embedder *sentinel = (rvcnn_embedder *)&failures; /* must stay untouched on error */
    rvcnn_embedder *e = sentinel;
    rvcnn_embedder_options o;
    char missing[4096];

    CHECK(rvcnn_embedder_options_default(NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_options_default(&o) == RVCNN_STATUS_OK);
    CHECK(o.struct_size == sizeof o && o.input_size == 224 && o.l2_normalize == 1);

    CHECK(rvcnn_embedder_create_from_file(NULL, NULL, &e) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_create_from_file(weights_path, NULL, NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_create_from_memory(NULL, len, NULL, &e) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_create_from_memory(bytes, len, NULL, NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_create_default(NULL, NULL) == RVCNN_STATUS_NULL_POINTER);
    CHECK(e == sentinel);

    snprintf(missing, sizeof missing, "%s.does-not-exist", weights_path);
    CHECK(rvcnn_embedder_create_from_file(missing, NULL, &e) == RVCNN_STATUS_IO);
    CHECK(strstr(rvcnn_last_error_message(), "does-not-exist") != NULL);
    CHECK(rvcnn_embedder_create_from_memory(bytes, len / 2, NULL, &e) == RVCNN_STATUS_FORMAT);
    CHECK(rvcnn_embedder_create_from_memory(bytes, 5, NULL, &e) == RVCNN_STATUS_FORMAT);
    CHECK(e == sentinel);

    o.struct_size = 8;
    CHECK(rvcnn_embedder_create_from_memory(bytes, len, &o, &e) == RVCNN_STATUS_INVALID_ARGUMENT);
    rvcnn_embedder_options_default(&o);
    o.output = 7;
    CHECK(rvcnn_embedder_create_from_memory(bytes, len, &o, &e) == RVCNN_STATUS_INVALID_ARGUMENT);
    rvcnn_embedder_options_default(&o);
    o.fit = 3;
    CHECK(rvcnn_embedder_create_from_memory(bytes, len, &o, &e) == RVCNN_STATUS_INVALID_ARGUMENT);
    rvcnn_embedder_options_default(&o);
    o.input_size = 0;
    CHECK(rvcnn_embedder_create_from_memory(bytes, len, &o, &e) == RVCNN_STATUS_INVALID_ARGUMENT);
    CHECK(e == sentinel);
    rvcnn_embedder_destroy(NULL); /* no-op */
}

static float norm(const float *v, size_t n) {
    double s = 0;
    size_t i;
    for (i = 0; i < n; i++) s += (double)v[i] * v[i];
    return (float)sqrt(s);
}

static void test_embed(rvcnn_embedder *e) {
    float out[DIM], again[DIM], keep[DIM + 1];
    size_t dim = 0, i;
    unsigned char *rgb = make_pixels(97, 61, 3, 5, 1);
    unsigned char *bgr = malloc((size_t)(97 * 3 + 5) * 61);
    rvcnn_image img = image_of(rgb, 97, 61, 3, 5, RVCNN_PIXEL_RGB8), bad;
    int x, y;

    CHECK(rvcnn_embedder_dim(e, &dim) == RVCNN_STATUS_OK && dim == DIM);
    CHECK(rvcnn_embedder_dim(NULL, &dim) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_dim(e, NULL) == RVCNN_STATUS_NULL_POINTER);
    const char *precision = NULL;
    CHECK(rvcnn_embedder_precision(e, &precision) == RVCNN_STATUS_OK && precision
          && strcmp(precision, "f32") == 0);
    CHECK(rvcnn_embedder_precision(NULL, &precision) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_precision(e, NULL) == RVCNN_STATUS_NULL_POINTER);

    CHECK(rvcnn_embedder_embed(e, &img, out, DIM) == RVCNN_STATUS_OK);
    CHECK(fabsf(norm(out, DIM) - 1.0f) < 1e-5f);
    CHECK(rvcnn_embedder_embed(e, &img, again, DIM) == RVCNN_STATUS_OK);
    CHECK(memcmp(out, again, sizeof out) == 0); /* deterministic */

    /* The same pixels as BGR give the same vector. */
    for (y = 0; y < 61; y++)
        for (x = 0; x < 97; x++) {
            size_t o = (size_t)y * (97 * 3 + 5) + (size_t)x * 3;
            bgr[o] = rgb[o + 2];
            bgr[o + 1] = rgb[o + 1];
            bgr[o + 2] = rgb[o];
        }
    bad = image_of(bgr, 97, 61, 3, 5, RVCNN_PIXEL_BGR8);
    CHECK(rvcnn_embedder_embed(e, &bad, again, DIM) == RVCNN_STATUS_OK);
    CHECK(memcmp(out, again, sizeof out) == 0);

    /* Errors leave the output untouched. */
    for (i = 0; i < DIM + 1; i++) keep[i] = 42.0f;
    CHECK(rvcnn_embedder_embed(NULL, &img, keep, DIM) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_embed(e, NULL, keep, DIM) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_embed(e, &img, NULL, DIM) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_embed(e, &img, keep, DIM - 1) == RVCNN_STATUS_BUFFER_TOO_SMALL);
    bad = img;
    bad.data = NULL;
    CHECK(rvcnn_embedder_embed(e, &bad, keep, DIM) == RVCNN_STATUS_NULL_POINTER);
    bad = img;
    bad.width = 0;
    CHECK(rvcnn_embedder_embed(e, &bad, keep, DIM) == RVCNN_STATUS_INVALID_ARGUMENT);
    bad = img;
    bad.stride = 97 * 3 - 1;
    CHECK(rvcnn_embedder_embed(e, &bad, keep, DIM) == RVCNN_STATUS_INVALID_ARGUMENT);
    bad = img;
    bad.data_len -= 6; /* the last row's padding may be absent, one pixel may not */
    CHECK(rvcnn_embedder_embed(e, &bad, keep, DIM) == RVCNN_STATUS_INVALID_ARGUMENT);
    bad = img;
    bad.format = 5;
    CHECK(rvcnn_embedder_embed(e, &bad, keep, DIM) == RVCNN_STATUS_INVALID_ARGUMENT);
    bad = img;
    bad.width = 0xffffffffu;
    bad.height = 0xffffffffu;
    CHECK(rvcnn_embedder_embed(e, &bad, keep, DIM) == RVCNN_STATUS_INVALID_ARGUMENT);
    for (i = 0; i < DIM + 1; i++) CHECK(keep[i] == 42.0f);
    bad = img;
    bad.data_len -= 5; /* exactly the last row without its padding: fine */
    CHECK(rvcnn_embedder_embed(e, &bad, again, DIM) == RVCNN_STATUS_OK);

    free(rgb);
    free(bgr);
}

static void test_formats(rvcnn_embedder *e) {
    static const int channels[] = {1, 3, 4, 3, 4};
    float out[DIM];
    uint32_t f;
    for (f = RVCNN_PIXEL_GRAY8; f <= RVCNN_PIXEL_BGRA8; f++) {
        unsigned char *p = make_pixels(33, 250, channels[f], 0, (int)f);
        rvcnn_image img = image_of(p, 33, 250, channels[f], 0, f);
        CHECK(rvcnn_embedder_embed(e, &img, out, DIM) == RVCNN_STATUS_OK);
        CHECK(fabsf(norm(out, DIM) - 1.0f) < 1e-5f);
        free(p);
    }
}

static void test_batch(const unsigned char *bytes, size_t len) {
    rvcnn_embedder *e = NULL;
    rvcnn_embedder_options o;
    rvcnn_image imgs[3];
    unsigned char *px[3];
    float batch[3 * DIM], one[DIM], keep[3 * DIM];
    int i, ok = 1;
    rvcnn_embedder_options_default(&o);
    o.input_size = TEST_SIZE;
    o.threads = 2;
    o.image_threads = 2;
    CHECK(rvcnn_embedder_create_from_memory(bytes, len, &o, &e) == RVCNN_STATUS_OK);
    if (!e) return;
    for (i = 0; i < 3; i++) {
        px[i] = make_pixels(40 + 30 * i, 50, 3, 0, 10 + i);
        imgs[i] = image_of(px[i], 40 + 30 * i, 50, 3, 0, RVCNN_PIXEL_RGB8);
    }
    CHECK(rvcnn_embedder_embed_batch(e, imgs, 3, batch, 3 * DIM) == RVCNN_STATUS_OK);
    for (i = 0; i < 3; i++) {
        CHECK(rvcnn_embedder_embed(e, &imgs[i], one, DIM) == RVCNN_STATUS_OK);
        if (memcmp(one, batch + i * DIM, sizeof one) != 0) ok = 0;
    }
    CHECK(ok);
    for (i = 0; i < 3 * DIM; i++) keep[i] = 7.0f;
    CHECK(rvcnn_embedder_embed_batch(e, imgs, 3, keep, 3 * DIM - 1) == RVCNN_STATUS_BUFFER_TOO_SMALL);
    imgs[2].format = 99; /* one bad image: nothing is written */
    CHECK(rvcnn_embedder_embed_batch(e, imgs, 3, keep, 3 * DIM) == RVCNN_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(rvcnn_last_error_message(), "images[2]") != NULL);
    for (i = 0; i < 3 * DIM; i++) CHECK(keep[i] == 7.0f);
    CHECK(rvcnn_embedder_embed_batch(e, NULL, 3, keep, 3 * DIM) == RVCNN_STATUS_NULL_POINTER);
    CHECK(rvcnn_embedder_embed_batch(e, imgs, 0, keep, 0) == RVCNN_STATUS_OK);
    for (i = 0; i < 3; i++) free(px[i]);
    rvcnn_embedder_destroy(e);
}

struct worker {
    rvcnn_embedder *e;
    const rvcnn_image *img;
    const float *want;
    int mismatches;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    float out[DIM];
    int i;
    for (i = 0; i < 6; i++) {
        if (rvcnn_embedder_embed(w->e, w->img, out, DIM) != RVCNN_STATUS_OK ||
            memcmp(out, w->want, sizeof out) != 0)
            w->mismatches++;
    }
    return NULL;
}

static void test_threads(rvcnn_embedder *e) {
    enum { THREADS = 4 };
    pthread_t t[THREADS];
    struct worker w[THREADS];
    unsigned char *p = make_pixels(120, 90, 4, 3, 5);
    rvcnn_image img = image_of(p, 120, 90, 4, 3, RVCNN_PIXEL_RGBA8);
    float want[DIM];
    int i;
    CHECK(rvcnn_embedder_embed(e, &img, want, DIM) == RVCNN_STATUS_OK);
    for (i = 0; i < THREADS; i++) {
        w[i].e = e;
        w[i].img = &img;
        w[i].want = want;
        w[i].mismatches = 0;
        CHECK(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].mismatches == 0);
    }
    free(p);
}

int rvcnn_ctest_run(const char *weights_path) {
    size_t len = 0;
    unsigned char *bytes = read_file(weights_path, &len);
    rvcnn_embedder *from_file = NULL, *from_memory = NULL;
    rvcnn_embedder_options o;
    failures = 0;
    test_library();
    if (!bytes) {
        fprintf(stderr, "cannot read %s\n", weights_path);
        return failures + 1;
    }
    test_create_errors(weights_path, bytes, len);
    rvcnn_embedder_options_default(&o);
    o.input_size = TEST_SIZE;
    CHECK(rvcnn_embedder_create_from_file(weights_path, &o, &from_file) == RVCNN_STATUS_OK);
    CHECK(rvcnn_embedder_create_from_memory(bytes, len, NULL, &from_memory) == RVCNN_STATUS_OK);
    if (from_file && from_memory) {
        test_embed(from_file);
        test_formats(from_memory);
        test_threads(from_file);
    }
    test_batch(bytes, len);
    /* Logits of the fixture's 10-class head. */
    rvcnn_embedder_options_default(&o);
    o.output = RVCNN_OUTPUT_LOGITS;
    {
        rvcnn_embedder *e = NULL;
        size_t dim = 0;
        CHECK(rvcnn_embedder_create_from_memory(bytes, len, &o, &e) == RVCNN_STATUS_OK);
        CHECK(e && rvcnn_embedder_dim(e, &dim) == RVCNN_STATUS_OK && dim == 10);
        rvcnn_embedder_destroy(e);
    }
    rvcnn_embedder_destroy(from_file);
    rvcnn_embedder_destroy(from_memory);
    free(bytes);
    return failures;
}
