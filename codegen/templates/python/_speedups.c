/* The optional compiled half of the runtime (`_runtime.py`): the same work, without the
 * interpreter on the three hot paths.
 *
 *   fill(spec, values, start)  a parsed value: spec is (value class, keys, converters or
 *                              None); the class is called with no arguments, then item k is
 *                              set to values[start + k], passed through converters[k](x, x)
 *                              where that is not None (the enum and flag lookups).
 *   Parser(unpack_from, spec, short_error)
 *                              a whole parse as one call, for a struct whose value is filled
 *                              straight from its unpacked tuple.
 *   ViewBase                   the base of every view when this module is built: it keeps
 *                              `_buf` and `_off`, and its constructor checks the bounds as
 *                              the pure-Python one does (an int offset into bytes, a
 *                              bytearray or an mmap inline; anything else through the class's
 *                              `_checked_offset`, whose errors are the runtime's own).
 *   Field                      a view's integer field: unpack(view._buf, view._off)[0], then
 *                              decode(raw, raw) when there is one. A read that `struct`
 *                              refuses (a buffer shrunk or closed since the view was made)
 *                              raises what lost(view) returns; writes go to setter(view, value).
 *
 * No byte of a buffer is read here: every read goes through the `struct.Struct` the runtime
 * made, which takes the buffer with the buffer protocol and checks its length each time.
 * `pip install` builds this module when a C compiler is there (the package's pyproject marks
 * it optional); `_runtime.py` falls back to pure Python when it is missing, when its API
 * number differs, or when LAYOUTGEN_PURE_PYTHON is set.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#define SPEEDUPS_API 1

#if PY_VERSION_HEX < 0x030A0000 /* Python 3.9 lacks two helpers 3.10 added */
static inline PyObject *new_reference(PyObject *object) {
    Py_INCREF(object);
    return object;
}
#define Py_NewRef(object) new_reference((PyObject *)(object))

static int PyModule_AddObjectRef(PyObject *module, const char *name, PyObject *value) {
    Py_INCREF(value);
    if (PyModule_AddObject(module, name, value) < 0) {
        Py_DECREF(value);
        return -1;
    }
    return 0;
}
#endif

static PyObject *size_name;         /* "SIZE" */
static PyObject *nested_name;       /* "_NESTED" */
static PyObject *nest_name;         /* "_nest" */
static PyObject *checked_name;      /* "_checked_offset" */
static PyObject *struct_error;      /* struct.error */
static PyTypeObject *mmap_type;     /* mmap.mmap */
static PyTypeObject *view_base;     /* ViewBase */
static PyObject *zero;              /* the default offset */

/* ---- fill */

/* cls() with key k set to values[start + k] (converted where a converter is given). */
static PyObject *fill_from(PyObject *spec, PyObject *values, Py_ssize_t start) {
    if (!PyTuple_CheckExact(spec) || PyTuple_GET_SIZE(spec) != 3 || !PyTuple_CheckExact(values)) {
        PyErr_SetString(PyExc_TypeError, "fill: the spec is (class, keys, converters), the values a tuple");
        return NULL;
    }
    PyObject *cls = PyTuple_GET_ITEM(spec, 0);
    PyObject *keys = PyTuple_GET_ITEM(spec, 1);
    PyObject *converters = PyTuple_GET_ITEM(spec, 2);
    if (!PyTuple_CheckExact(keys) || (converters != Py_None && (!PyTuple_CheckExact(converters) ||
                                                                PyTuple_GET_SIZE(converters) != PyTuple_GET_SIZE(keys)))) {
        PyErr_SetString(PyExc_TypeError, "fill: keys must be a tuple, converters None or a tuple as long");
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(keys);
    if (start < 0 || start > PyTuple_GET_SIZE(values) - count) {
        PyErr_SetString(PyExc_IndexError, "fill: the values end before the keys do");
        return NULL;
    }
    PyObject *value = PyObject_CallNoArgs(cls);
    if (value == NULL) {
        return NULL;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *item = PyTuple_GET_ITEM(values, start + k);
        PyObject *convert = converters == Py_None ? Py_None : PyTuple_GET_ITEM(converters, k);
        int failed;
        if (convert == Py_None) {
            failed = PyObject_SetItem(value, PyTuple_GET_ITEM(keys, k), item) < 0;
        } else {
            PyObject *pair[2] = {item, item};
            PyObject *converted = PyObject_Vectorcall(convert, pair, 2, NULL);
            failed = converted == NULL || PyObject_SetItem(value, PyTuple_GET_ITEM(keys, k), converted) < 0;
            Py_XDECREF(converted);
        }
        if (failed) {
            Py_DECREF(value);
            return NULL;
        }
    }
    return value;
}

static PyObject *fill(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyLong_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "fill(spec, values, start): start is an int");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[2]);
    if (start == -1 && PyErr_Occurred()) {
        return NULL;
    }
    return fill_from(args[0], args[1], start);
}

/* ---- Parser */

/* Parser(unpack_from, spec, short): a struct's whole parse as one callable, for the structs whose
 * value is filled straight from the unpacked tuple: Parser(buffer, offset=0) unpacks, then fills.
 * A buffer too short (struct.error) raises what short(buffer, offset) returns. */
typedef struct {
    PyObject_HEAD
    PyObject *unpack;
    PyObject *spec;
    PyObject *short_error;
    vectorcallfunc vectorcall;
} Parser;

/* Put keyword arguments `buffer` and `offset` into *buffer and *offset; -1 with an error set. */
static int parser_keywords(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, PyObject **buffer,
                           PyObject **offset) {
    Py_ssize_t named = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < named; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        PyObject **slot = PyUnicode_CompareWithASCIIString(name, "buffer") == 0   ? buffer
                          : PyUnicode_CompareWithASCIIString(name, "offset") == 0 ? offset
                                                                                  : NULL;
        if (slot == NULL || *slot != NULL) {
            PyErr_Format(PyExc_TypeError, "unexpected or repeated argument %R", name);
            return -1;
        }
        *slot = args[nargs + i];
    }
    return 0;
}

static PyObject *parser_call(Parser *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *buffer = nargs > 0 ? args[0] : NULL, *offset = nargs > 1 ? args[1] : NULL;
    if (nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "parse takes a buffer and an offset");
        return NULL;
    }
    if (kwnames != NULL && parser_keywords(args, nargs, kwnames, &buffer, &offset) < 0) {
        return NULL;
    }
    if (buffer == NULL) {
        PyErr_SetString(PyExc_TypeError, "parse needs a buffer");
        return NULL;
    }
    PyObject *pair[2] = {buffer, offset == NULL ? zero : offset};
    PyObject *row = PyObject_Vectorcall(self->unpack, pair, 2, NULL);
    if (row == NULL) {
        if (PyErr_ExceptionMatches(struct_error)) {
            PyErr_Clear();
            PyObject *error = PyObject_Vectorcall(self->short_error, pair, 2, NULL);
            if (error != NULL) {
                PyErr_SetObject((PyObject *)Py_TYPE(error), error);
                Py_DECREF(error);
            }
        }
        return NULL;
    }
    PyObject *value = fill_from(self->spec, row, 0);
    Py_DECREF(row);
    return value;
}

static PyObject *parser_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *unpack, *spec, *short_error;
    if ((kwds != NULL && PyDict_GET_SIZE(kwds) != 0) ||
        !PyArg_UnpackTuple(args, "Parser", 3, 3, &unpack, &spec, &short_error)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "Parser(unpack_from, spec, short_error)");
        }
        return NULL;
    }
    Parser *self = (Parser *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->unpack = Py_NewRef(unpack);
    self->spec = Py_NewRef(spec);
    self->short_error = Py_NewRef(short_error);
    self->vectorcall = (vectorcallfunc)parser_call;
    return (PyObject *)self;
}

static int parser_traverse(Parser *self, visitproc visit, void *arg) {
    Py_VISIT(self->unpack);
    Py_VISIT(self->spec);
    Py_VISIT(self->short_error);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int parser_clear(Parser *self) {
    Py_CLEAR(self->unpack);
    Py_CLEAR(self->spec);
    Py_CLEAR(self->short_error);
    return 0;
}

static void parser_dealloc(Parser *self) {
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    parser_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyMemberDef parser_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Parser, vectorcall), READONLY, NULL},
    {NULL},
};

static PyType_Slot parser_slots[] = {
    {Py_tp_new, parser_new},           {Py_tp_call, PyVectorcall_Call}, {Py_tp_members, parser_members},
    {Py_tp_traverse, parser_traverse}, {Py_tp_clear, parser_clear},     {Py_tp_dealloc, parser_dealloc},
    {0, NULL},
};

static PyType_Spec parser_spec = {
    "_speedups.Parser", sizeof(Parser), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    parser_slots,
};

/* ---- ViewBase */

typedef struct {
    PyObject_HEAD
    PyObject *buf;
    PyObject *off;
} View;

/* The view's size from its class, or -1 with an error set. */
static Py_ssize_t view_size(PyTypeObject *type) {
    PyObject *size = PyObject_GetAttr((PyObject *)type, size_name);
    if (size == NULL) {
        return -1;
    }
    Py_ssize_t result = PyLong_AsSsize_t(size);
    Py_DECREF(size);
    if (result < 0 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "a view's SIZE cannot be negative");
    }
    return result;
}

/* 1 when the inline check accepts (buffer, offset), 0 when the general path must decide,
 * -1 with an error set (the length of a closed mmap, as len() raises in Python). */
static int fast_bounds(PyTypeObject *type, PyObject *buffer, PyObject *offset) {
    if (!PyLong_CheckExact(offset)) {
        return 0;
    }
    Py_ssize_t length;
    if (PyByteArray_CheckExact(buffer)) {
        length = PyByteArray_GET_SIZE(buffer);
    } else if (PyBytes_CheckExact(buffer)) {
        length = PyBytes_GET_SIZE(buffer);
    } else if (Py_IS_TYPE(buffer, mmap_type)) {
        length = PyObject_Size(buffer);
        if (length < 0) {
            return -1;
        }
    } else {
        return 0;
    }
    int overflow;
    long long at = PyLong_AsLongLongAndOverflow(offset, &overflow);
    if (overflow != 0 || at < 0) {
        return 0;
    }
    Py_ssize_t size = view_size(type);
    if (size < 0) {
        return -1;
    }
    return at <= (long long)length - (long long)size;
}

/* Keep (buffer, offset) after checking them; the general path may give a new offset. */
static int view_set(View *self, PyObject *buffer, PyObject *offset) {
    int fast = fast_bounds(Py_TYPE(self), buffer, offset);
    if (fast < 0) {
        return -1;
    }
    if (fast) {
        Py_INCREF(offset);
    } else {
        offset = PyObject_CallMethodObjArgs((PyObject *)Py_TYPE(self), checked_name, buffer, offset, NULL);
        if (offset == NULL) {
            return -1;
        }
    }
    Py_XSETREF(self->buf, Py_NewRef(buffer));
    Py_XSETREF(self->off, offset);
    return 0;
}

/* The nested views, made by the runtime's `_nest` when the class lists any. */
static int view_nest(View *self) {
    PyObject *nested = PyObject_GetAttr((PyObject *)Py_TYPE(self), nested_name);
    if (nested == NULL) {
        return -1;
    }
    int any = PyObject_IsTrue(nested);
    Py_DECREF(nested);
    if (any <= 0) {
        return any;
    }
    PyObject *done = PyObject_CallMethodNoArgs((PyObject *)self, nest_name);
    Py_XDECREF(done);
    return done == NULL ? -1 : 0;
}

static int view_init(View *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"buffer", "offset", NULL};
    PyObject *buffer, *offset = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:View", names, &buffer, &offset)) {
        return -1;
    }
    if (view_set(self, buffer, offset == NULL ? zero : offset) < 0) {
        return -1;
    }
    return view_nest(self) < 0 ? -1 : 0;
}

/* `View(buffer, offset)` without the generic type call: installed by `install` on view classes
 * that keep ViewBase's constructor and have no nested views. Keywords and odd argument counts
 * take the generic path, which ends in view_init. */
static PyObject *generic_call(PyObject *type, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    PyObject *positional = PyTuple_New(nargs);
    PyObject *keywords = kwnames == NULL ? NULL : PyDict_New();
    if (positional == NULL || (kwnames != NULL && keywords == NULL)) {
        Py_XDECREF(positional);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyTuple_SET_ITEM(positional, i, Py_NewRef(args[i]));
    }
    Py_ssize_t named = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < named; i++) {
        if (PyDict_SetItem(keywords, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0) {
            Py_DECREF(positional);
            Py_DECREF(keywords);
            return NULL;
        }
    }
    PyObject *result = PyType_Type.tp_call(type, positional, keywords);
    Py_DECREF(positional);
    Py_XDECREF(keywords);
    return result;
}

static PyObject *view_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || nargs < 1 || nargs > 2) {
        return generic_call(type, args, nargs, kwnames);
    }
    PyTypeObject *tp = (PyTypeObject *)type;
    View *self = (View *)tp->tp_alloc(tp, 0);
    if (self == NULL) {
        return NULL;
    }
    if (view_set(self, args[0], nargs == 2 ? args[1] : zero) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* install(cls): give a view class the direct constructor above when that is the same as the
 * generic one (its constructor is ViewBase's and it has no nested views); else leave it. */
static PyObject *install(PyObject *module, PyObject *cls) {
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, view_base)) {
        PyErr_SetString(PyExc_TypeError, "install() takes a ViewBase subclass");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    PyObject *nested = PyObject_GetAttr(cls, nested_name);
    if (nested == NULL) {
        return NULL;
    }
    int any = PyObject_IsTrue(nested);
    Py_DECREF(nested);
    if (any < 0) {
        return NULL;
    }
    if (!any && type->tp_init == view_base->tp_init && type->tp_new == view_base->tp_new) {
        type->tp_vectorcall = view_vectorcall;
        Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

static int view_traverse(View *self, visitproc visit, void *arg) {
    Py_VISIT(self->buf);
    Py_VISIT(self->off);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int view_clear(View *self) {
    Py_CLEAR(self->buf);
    Py_CLEAR(self->off);
    return 0;
}

static void view_dealloc(View *self) {
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    view_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyMemberDef view_members[] = {
    {"_buf", T_OBJECT_EX, offsetof(View, buf), 0, "the buffer the view reads"},
    {"_off", T_OBJECT_EX, offsetof(View, off), 0, "the view's offset in the buffer"},
    {NULL},
};

static PyType_Slot view_slots[] = {
    {Py_tp_init, view_init},         {Py_tp_new, PyType_GenericNew}, {Py_tp_members, view_members},
    {Py_tp_traverse, view_traverse}, {Py_tp_clear, view_clear},      {Py_tp_dealloc, view_dealloc},
    {0, NULL},
};

static PyType_Spec view_spec = {
    "_speedups.ViewBase", sizeof(View), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    view_slots,
};

/* ---- Field */

typedef struct {
    PyObject_HEAD
    PyObject *unpack;
    PyObject *decode;
    PyObject *lost;
    PyObject *setter;
    PyObject *doc;
} Field;

static PyObject *field_get(Field *self, PyObject *obj, PyObject *type) {
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    if (!PyObject_TypeCheck(obj, view_base)) {
        PyErr_Format(PyExc_TypeError, "a view field cannot read a %.100s", Py_TYPE(obj)->tp_name);
        return NULL;
    }
    View *view = (View *)obj;
    if (view->buf == NULL || view->off == NULL) {
        PyErr_SetString(PyExc_AttributeError, view->buf == NULL ? "_buf" : "_off");
        return NULL;
    }
    PyObject *unpack_args[2] = {view->buf, view->off};
    PyObject *row = PyObject_Vectorcall(self->unpack, unpack_args, 2, NULL);
    if (row == NULL) {
        if (PyErr_ExceptionMatches(struct_error) || PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
            PyObject *error = PyObject_CallOneArg(self->lost, obj);
            if (error != NULL) {
                PyErr_SetObject((PyObject *)Py_TYPE(error), error);
                Py_DECREF(error);
            }
        }
        return NULL;
    }
    if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) < 1) {
        Py_DECREF(row);
        PyErr_SetString(PyExc_TypeError, "a view field's unpack must return a non-empty tuple");
        return NULL;
    }
    PyObject *raw = Py_NewRef(PyTuple_GET_ITEM(row, 0));
    Py_DECREF(row);
    if (self->decode == Py_None) {
        return raw;
    }
    PyObject *decode_args[2] = {raw, raw};
    PyObject *decoded = PyObject_Vectorcall(self->decode, decode_args, 2, NULL);
    Py_DECREF(raw);
    return decoded;
}

static int field_set(Field *self, PyObject *obj, PyObject *value) {
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a view field cannot be deleted");
        return -1;
    }
    PyObject *args[2] = {obj, value};
    PyObject *done = PyObject_Vectorcall(self->setter, args, 2, NULL);
    Py_XDECREF(done);
    return done == NULL ? -1 : 0;
}

static int field_init(Field *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"unpack", "decode", "lost", "setter", "doc", NULL};
    PyObject *unpack, *decode, *lost, *setter, *doc = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO|O:Field", names, &unpack, &decode, &lost, &setter, &doc)) {
        return -1;
    }
    Py_XSETREF(self->unpack, Py_NewRef(unpack));
    Py_XSETREF(self->decode, Py_NewRef(decode));
    Py_XSETREF(self->lost, Py_NewRef(lost));
    Py_XSETREF(self->setter, Py_NewRef(setter));
    Py_XSETREF(self->doc, Py_NewRef(doc));
    return 0;
}

static int field_traverse(Field *self, visitproc visit, void *arg) {
    Py_VISIT(self->unpack);
    Py_VISIT(self->decode);
    Py_VISIT(self->lost);
    Py_VISIT(self->setter);
    Py_VISIT(self->doc);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int field_clear(Field *self) {
    Py_CLEAR(self->unpack);
    Py_CLEAR(self->decode);
    Py_CLEAR(self->lost);
    Py_CLEAR(self->setter);
    Py_CLEAR(self->doc);
    return 0;
}

static void field_dealloc(Field *self) {
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    field_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyMemberDef field_members[] = {
    {"__doc__", T_OBJECT, offsetof(Field, doc), READONLY, NULL},
    {NULL},
};

static PyType_Slot field_slots[] = {
    {Py_tp_descr_get, field_get},     {Py_tp_descr_set, field_set},   {Py_tp_init, field_init},
    {Py_tp_new, PyType_GenericNew},   {Py_tp_members, field_members}, {Py_tp_traverse, field_traverse},
    {Py_tp_clear, field_clear},       {Py_tp_dealloc, field_dealloc}, {0, NULL},
};

static PyType_Spec field_spec = {
    "_speedups.Field", sizeof(Field), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, field_slots,
};

/* ---- the module */

static PyMethodDef methods[] = {
    {"fill", (PyCFunction)(void (*)(void))fill, METH_FASTCALL, "fill(spec, values, start): a parsed value"},
    {"install", install, METH_O, "install(cls): the direct constructor for a view class, where it applies"},
    {NULL},
};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};

static PyObject *attribute_of(const char *module_name, const char *name) {
    PyObject *module = PyImport_ImportModule(module_name);
    if (module == NULL) {
        return NULL;
    }
    PyObject *value = PyObject_GetAttrString(module, name);
    Py_DECREF(module);
    return value;
}

PyMODINIT_FUNC PyInit__speedups(void) {
    size_name = PyUnicode_InternFromString("SIZE");
    nested_name = PyUnicode_InternFromString("_NESTED");
    nest_name = PyUnicode_InternFromString("_nest");
    checked_name = PyUnicode_InternFromString("_checked_offset");
    struct_error = attribute_of("struct", "error");
    mmap_type = (PyTypeObject *)attribute_of("mmap", "mmap");
    if (size_name == NULL || nested_name == NULL || nest_name == NULL || checked_name == NULL ||
        struct_error == NULL || mmap_type == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    zero = PyLong_FromLong(0);
    view_base = (PyTypeObject *)PyType_FromSpec(&view_spec);
    PyObject *field_type = PyType_FromSpec(&field_spec);
    PyObject *parser_type = PyType_FromSpec(&parser_spec);
    if (zero == NULL || view_base == NULL || field_type == NULL || parser_type == NULL ||
        PyModule_AddObjectRef(module, "ViewBase", (PyObject *)view_base) < 0 ||
        PyModule_AddObjectRef(module, "Field", field_type) < 0 ||
        PyModule_AddObjectRef(module, "Parser", parser_type) < 0 ||
        PyModule_AddIntConstant(module, "API", SPEEDUPS_API) < 0) {
        Py_XDECREF(field_type);
        Py_XDECREF(parser_type);
        Py_DECREF(module);
        return NULL;
    }
    Py_DECREF(field_type);
    Py_DECREF(parser_type);
    return module;
}
