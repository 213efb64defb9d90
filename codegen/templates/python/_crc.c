/* rltop._crc: the package's optional C accelerator, for the numpy bulk decoder's checksum
 * pass (rltop.bulk.decode_array(..., verify_checksum=True)). One call checks every message
 * of a buffer of equal-size messages, four CRC-32Cs at a time, with the GIL released. The
 * CRC code is the C header's own (_crc.h is generated from the same source as rltop.h).
 * pip builds it when a C compiler and Python's headers are there (setup.py marks it
 * optional); without it the package is pure Python and checks one message per call. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "_crc.h"

/* first_bad_checksum(buffer, size, hole, count) -> int: the index of the first of `count`
 * back-to-back `size`-byte messages at the start of `buffer` whose stored checksum (the
 * little-endian u32 at `hole`) is not their CRC-32C with those 4 bytes as zero; -1 if none. */
static PyObject *first_bad_checksum(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer view;
    Py_ssize_t size, hole, count, bad = -1;
    if (!PyArg_ParseTuple(args, "y*nnn", &view, &size, &hole, &count)) return NULL;
    if (size <= 0 || hole < 0 || hole > size - 4 || count < 0 || count > view.len / size) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError,
                     "first_bad_checksum: %zd messages of %zd bytes (checksum at byte %zd) do not fit a %zd-byte buffer",
                     count, size, hole, view.len);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    const unsigned char *b = (const unsigned char *)view.buf;
    const size_t n[4] = {(size_t)size, (size_t)size, (size_t)size, (size_t)size};
    Py_ssize_t i = 0;
    for (; i + 4 <= count && bad < 0; i += 4) {
        const unsigned char *p[4] = {b + i * size, b + (i + 1) * size, b + (i + 2) * size, b + (i + 3) * size};
        uint32_t sums[4];
        int k;
        rltop_crc32c_with_hole4(p, n, (size_t)hole, sums);
        for (k = 0; k < 4; k++) {
            if (sums[k] != rltop_load_u32(p[k] + hole)) {
                bad = i + k;
                break;
            }
        }
    }
    for (; i < count && bad < 0; i++) {
        const unsigned char *p = b + i * size;
        if (rltop_crc32c_with_hole(p, (size_t)size, (size_t)hole) != rltop_load_u32(p + hole)) bad = i;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(bad);
}

static PyMethodDef methods[] = {
    {"first_bad_checksum", first_bad_checksum, METH_VARARGS,
     "first_bad_checksum(buffer, size, hole, count) -> index of the first message with a wrong checksum, or -1"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "rltop._crc", "The C header's CRC-32C for rltop.bulk.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__crc(void) { return PyModule_Create(&module); }
