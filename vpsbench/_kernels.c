/* Compiled kernels of vpsbench (chosen by vpsbench/kernels.py; NumPy does the same work where
 * this module was not built, with the same results).
 *
 * Each kernel is one linear pass where NumPy needs several (compare, OR, flatnonzero;
 * concatenate, stable sort, cumsum; gathers, compares, bincounts, joins; a sort of every
 * run): on a 1024x2048 frame those passes move the map or its runs through memory several
 * times, a loop here once. Arrays come in through the buffer protocol (no NumPy headers are
 * needed to build) and the Python side checks their dtypes and allocates the outputs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#if defined(__SSE2__) && defined(__GNUC__) && !defined(VPSBENCH_NO_SIMD)
/* One bit per byte of the 64 at x + k: set where it equals the byte `size` before. */
static inline uint64_t equal_bits(const uint8_t *x, Py_ssize_t k, Py_ssize_t size)
{
    uint64_t bits = 0;
    for (int v = 0; v < 4; v++) {
        __m128i now = _mm_loadu_si128((const __m128i *)(x + k + 16 * v));
        __m128i before = _mm_loadu_si128((const __m128i *)(x + k - size + 16 * v));
        bits |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(now, before)) << (16 * v);
    }
    return bits;
}

/* The first byte j in [k, k + 64) where a (or b) differs from `size` bytes before; k + 64
 * if none. */
static inline Py_ssize_t first_change(const uint8_t *a, const uint8_t *b, Py_ssize_t k,
                                      Py_ssize_t size)
{
    uint64_t equal = equal_bits(a, k, size);
    if (b)
        equal &= equal_bits(b, k, size);
    return equal == ~(uint64_t)0 ? k + 64 : k + __builtin_ctzll(~equal);
}
#else
static inline Py_ssize_t first_change(const uint8_t *a, const uint8_t *b, Py_ssize_t k,
                                      Py_ssize_t size)
{
    uint64_t differ = 0, u, v;
    for (int w = 0; w < 8; w++) {
        memcpy(&u, a + k + 8 * w, 8);
        memcpy(&v, a + k - size + 8 * w, 8);
        differ |= u ^ v;
        if (b) {
            memcpy(&u, b + k + 8 * w, 8);
            memcpy(&v, b + k - size + 8 * w, 8);
            differ |= u ^ v;
        }
    }
    if (differ == 0)
        return k + 64;
    Py_ssize_t j = k;
    while (a[j] == a[j - size] && (!b || b[j] == b[j - size]))
        j++;
    return j;
}
#endif

/* Element indices where a run begins: 0, and every p at which element p of `a` (or of `b`,
 * when given) differs from element p - 1; elements are `size` bytes. Bytes are compared 64 at
 * a time against those one element before, and only a block that differs is looked at
 * byte by byte. Returns the number of starts written to `out`. */
static Py_ssize_t find_run_starts(const uint8_t *a, const uint8_t *b, Py_ssize_t nbytes,
                                  Py_ssize_t size, int64_t *out)
{
    Py_ssize_t count = 0, k = size;
    if (nbytes <= 0)
        return 0;
    out[count++] = 0;
    while (k < nbytes) {
        Py_ssize_t j;
        if (k + 64 <= nbytes) {
            j = first_change(a, b, k, size);
            if (j == k + 64) {
                k = j;
                continue;
            }
        } else { /* the last bytes, one by one */
            j = k;
            while (j < nbytes && a[j] == a[j - size] && (!b || b[j] == b[j - size]))
                j++;
            if (j == nbytes)
                break;
        }
        Py_ssize_t element = j / size;
        out[count++] = element;
        k = (element + 1) * size; /* the next element's first byte */
    }
    return count;
}

static PyObject *run_starts(PyObject *self, PyObject *args)
{
    Py_buffer a, b = {0}, out;
    PyObject *second, *result = NULL;
    Py_ssize_t size, n;
    if (!PyArg_ParseTuple(args, "y*Onw*", &a, &second, &size, &out))
        return NULL;
    int has_b = second != Py_None;
    if (has_b && PyObject_GetBuffer(second, &b, PyBUF_SIMPLE) < 0)
        goto release;
    if (size <= 0 || a.len % size || (has_b && b.len != a.len)
        || out.len < (a.len / size) * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "run_starts: buffer sizes do not match");
        goto release;
    }
    Py_BEGIN_ALLOW_THREADS
    n = find_run_starts(a.buf, has_b ? b.buf : NULL, a.len, size, out.buf);
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(n);
release:
    if (has_b && b.obj)
        PyBuffer_Release(&b);
    PyBuffer_Release(&a);
    PyBuffer_Release(&out);
    return result;
}

/* The sorted union of sorted int64 arrays a and b, and for each value v of it the index of
 * the last element <= v in a and in b (-1 if none). Returns the union's length. */
static Py_ssize_t merge(const int64_t *a, Py_ssize_t na, const int64_t *b, Py_ssize_t nb,
                        int64_t *merged, int64_t *in_a, int64_t *in_b)
{
    Py_ssize_t i = 0, j = 0, n = 0;
    while (i < na || j < nb) {
        int64_t v;
        if (j >= nb || (i < na && a[i] <= b[j]))
            v = a[i];
        else
            v = b[j];
        while (i < na && a[i] == v)
            i++;
        while (j < nb && b[j] == v)
            j++;
        merged[n] = v;
        in_a[n] = i - 1;
        in_b[n] = j - 1;
        n++;
    }
    return n;
}

static PyObject *merge_sorted(PyObject *self, PyObject *args)
{
    Py_buffer a, b, merged, in_a, in_b;
    PyObject *result = NULL;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y*y*w*w*w*", &a, &b, &merged, &in_a, &in_b))
        return NULL;
    Py_ssize_t na = a.len / 8, nb = b.len / 8, need = (na + nb) * 8;
    if (a.len % 8 || b.len % 8 || merged.len < need || in_a.len < need || in_b.len < need) {
        PyErr_SetString(PyExc_ValueError, "merge_sorted: buffer sizes do not match");
    } else {
        Py_BEGIN_ALLOW_THREADS
        n = merge(a.buf, na, b.buf, nb, merged.buf, in_a.buf, in_b.buf);
        Py_END_ALLOW_THREADS
        result = PyLong_FromSsize_t(n);
    }
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&merged);
    PyBuffer_Release(&in_a);
    PyBuffer_Release(&in_b);
    return result;
}


/* One frame of VC's clip counters (vpsbench.metrics.consistency.ClipCounter) on segments:
 * the old segments (starts, labels, counters) and the frame's runs (starts, labels), both
 * starting at 0, are cut into the segments of both partitions; each gets its counters
 * advanced (a counter grows, up to `cap`, while its labels stay, else restarts at 1), its
 * pixels added to the histograms of both counters (none where the GT is `ignore`, if
 * `skip_ignore`), and adjacent segments left equal in labels and counters are joined.
 * Returns the number of new segments, or -1 if a start list does not begin at 0. */
static Py_ssize_t vc_advance(const int64_t *o_start, const int64_t *o_gt, const int64_t *o_pred,
                             const int64_t *o_rgt, const int64_t *o_rboth, Py_ssize_t n_old,
                             const int64_t *f_start, const int64_t *f_gt, const int64_t *f_pred,
                             Py_ssize_t n_new, int64_t size, int64_t cap, int skip_ignore,
                             int64_t ignore, int64_t *s_start, int64_t *s_gt, int64_t *s_pred,
                             int64_t *s_rgt, int64_t *s_rboth, int64_t *hist_gt,
                             int64_t *hist_both)
{
    Py_ssize_t i = 0, j = 0, n = 0;
    int64_t pos = 0;
    if (n_new == 0 || f_start[0] != 0 || (n_old > 0 && o_start[0] != 0))
        return -1;
    while (pos < size) {
        int64_t next = size;
        if (n_old > 0 && i + 1 < n_old && o_start[i + 1] < next)
            next = o_start[i + 1];
        if (j + 1 < n_new && f_start[j + 1] < next)
            next = f_start[j + 1];
        int64_t gt = f_gt[j], pred = f_pred[j], rgt = 1, rboth = 1;
        if (n_old > 0 && gt == o_gt[i]) {
            rgt = o_rgt[i] + 1 < cap ? o_rgt[i] + 1 : cap;
            if (pred == o_pred[i])
                rboth = o_rboth[i] + 1 < cap ? o_rboth[i] + 1 : cap;
        }
        if (!(skip_ignore && gt == ignore)) {
            hist_gt[rgt] += next - pos;
            hist_both[rboth] += next - pos;
        }
        if (n == 0 || gt != s_gt[n - 1] || pred != s_pred[n - 1] || rgt != s_rgt[n - 1]
            || rboth != s_rboth[n - 1]) {
            s_start[n] = pos;
            s_gt[n] = gt;
            s_pred[n] = pred;
            s_rgt[n] = rgt;
            s_rboth[n] = rboth;
            n++;
        }
        pos = next;
        if (n_old > 0 && i + 1 < n_old && o_start[i + 1] == pos)
            i++;
        if (j + 1 < n_new && f_start[j + 1] == pos)
            j++;
    }
    return n;
}

static PyObject *clip_advance(PyObject *self, PyObject *args)
{
    Py_buffer v[15];
    long long size, cap, ignore;
    int skip_ignore;
    PyObject *result = NULL;
    Py_ssize_t n = 0;
    memset(v, 0, sizeof(v));
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*LLpLw*w*w*w*w*w*w*", &v[0], &v[1], &v[2],
                          &v[3], &v[4], &v[5], &v[6], &v[7], &size, &cap, &skip_ignore,
                          &ignore, &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14]))
        return NULL;
    Py_ssize_t n_old = v[0].len / 8, n_new = v[5].len / 8, ok = 1;
    for (int k = 1; k < 5; k++)
        ok &= v[k].len == v[0].len;
    ok &= v[6].len == v[5].len && v[7].len == v[5].len;
    for (int k = 8; k < 13; k++)
        ok &= v[k].len >= (n_old + n_new) * 8;
    ok &= cap >= 1 && v[13].len >= (cap + 1) * 8 && v[14].len >= (cap + 1) * 8;
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "clip_advance: buffer sizes do not match");
    } else {
        Py_BEGIN_ALLOW_THREADS
        n = vc_advance(v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, n_old, v[5].buf,
                       v[6].buf, v[7].buf, n_new, size, cap, skip_ignore, ignore, v[8].buf,
                       v[9].buf, v[10].buf, v[11].buf, v[12].buf, v[13].buf, v[14].buf);
        Py_END_ALLOW_THREADS
        if (n < 0)
            PyErr_SetString(PyExc_ValueError, "clip_advance: runs must start at pixel 0");
        else
            result = PyLong_FromSsize_t(n);
    }
    for (int k = 0; k < 15; k++)
        PyBuffer_Release(&v[k]);
    return result;
}

/* The distinct (gt, pred) pairs of a frame's pair runs (run i covers starts[i] to the next
 * start, the last to `size`) and the pixels of each, in order of first appearance: an open
 * addressing table of 2^k >= 2n slots (n runs). Returns the number of pairs, or -1 when out
 * of memory. */
static Py_ssize_t count_pairs(const int64_t *starts, const int64_t *gt, const int64_t *pred,
                              Py_ssize_t n, int64_t size, int64_t *out_gt, int64_t *out_pred,
                              int64_t *out_count)
{
    Py_ssize_t slots = 16, pairs = 0;
    while (slots < 2 * n)
        slots *= 2;
    Py_ssize_t *table = PyMem_RawMalloc(slots * sizeof(Py_ssize_t));
    if (!table)
        return -1;
    for (Py_ssize_t s = 0; s < slots; s++)
        table[s] = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t length = (i + 1 < n ? starts[i + 1] : size) - starts[i];
        uint64_t h = (uint64_t)gt[i] * 0x9E3779B97F4A7C15ULL;
        h ^= (uint64_t)pred[i] * 0xC2B2AE3D27D4EB4FULL;
        Py_ssize_t s = (Py_ssize_t)((h ^ (h >> 29)) & (uint64_t)(slots - 1));
        while (table[s] >= 0 && (out_gt[table[s]] != gt[i] || out_pred[table[s]] != pred[i]))
            s = (s + 1) & (slots - 1);
        if (table[s] < 0) {
            table[s] = pairs;
            out_gt[pairs] = gt[i];
            out_pred[pairs] = pred[i];
            out_count[pairs] = 0;
            pairs++;
        }
        out_count[table[s]] += length;
    }
    PyMem_RawFree(table);
    return pairs;
}

static PyObject *pair_counts(PyObject *self, PyObject *args)
{
    Py_buffer v[6];
    long long size;
    PyObject *result = NULL;
    Py_ssize_t n = 0;
    if (!PyArg_ParseTuple(args, "y*y*y*Lw*w*w*", &v[0], &v[1], &v[2], &size, &v[3], &v[4],
                          &v[5]))
        return NULL;
    Py_ssize_t runs = v[0].len / 8;
    int ok = v[0].len % 8 == 0 && v[1].len == v[0].len && v[2].len == v[0].len;
    for (int k = 3; k < 6; k++)
        ok &= v[k].len >= v[0].len;
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "pair_counts: buffer sizes do not match");
    } else {
        Py_BEGIN_ALLOW_THREADS
        n = count_pairs(v[0].buf, v[1].buf, v[2].buf, runs, size, v[3].buf, v[4].buf, v[5].buf);
        Py_END_ALLOW_THREADS
        result = n < 0 ? PyErr_NoMemory() : PyLong_FromSsize_t(n);
    }
    for (int k = 0; k < 6; k++)
        PyBuffer_Release(&v[k]);
    return result;
}

static PyMethodDef methods[] = {
    {"run_starts", run_starts, METH_VARARGS,
     "run_starts(a, b_or_None, itemsize, out) -> count: run starts of one or two buffers."},
    {"merge_sorted", merge_sorted, METH_VARARGS,
     "merge_sorted(a, b, merged, in_a, in_b) -> count: union of two sorted int64 arrays."},
    {"clip_advance", clip_advance, METH_VARARGS,
     "clip_advance(old segments x5, runs x3, size, cap, skip_ignore, ignore, new segments x5,"
     " hist_gt, hist_both) -> count: one frame of VC's clip counters."},
    {"pair_counts", pair_counts, METH_VARARGS,
     "pair_counts(starts, gt, pred, size, out_gt, out_pred, out_count) -> count: distinct"
     " pairs of pair runs and their pixels, in order of first appearance."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "vpsbench._kernels",
                                    "Compiled kernels of vpsbench (vpsbench.kernels).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
