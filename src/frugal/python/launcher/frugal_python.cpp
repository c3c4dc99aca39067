// frugal-python: the system Python 3 interpreter with frugal's extension built in
// (`import frugal` with build/python on the path). It needs no position-independent build
// of the library, so it is built wherever pybind11 is found; the shared-object module
// (FRUGAL_PYTHON_MODULE) serves /usr/bin/python3 and pip.
#include <Python.h>

extern "C" PyObject* PyInit__frugal();

int main(int argc, char** argv) {
  if (PyImport_AppendInittab("_frugal", &PyInit__frugal) == -1) return 2;
  return Py_BytesMain(argc, argv);
}
