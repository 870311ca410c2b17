/* libpython3.X-pic.a (+ libexpat.a, libz.a): an embedded interpreter,
 * started and stopped, running a script that uses built-in modules (math,
 * json, zlib, re), a generator, an exception, and big integers.  The standard library comes
 * from the system's /usr/lib/python3.X, for the reference and elfjit
 * alike. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int main(void)
{
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.site_import = 0;
    PyStatus st = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(st))
        return puts("Python did not start"), 1;
    int rc = PyRun_SimpleString(
        "import math, json, zlib, re\n"
        "def gen(n):\n"
        "    for i in range(n):\n"
        "        yield i * i\n"
        "data = {'fact25': math.factorial(25), 'big': 3 ** 80, 'squares': list(gen(8)),\n"
        "        'crc': zlib.crc32(b'archive'), 'words': re.findall(r'\\w+\\.a', 'libz.a libm.a x.o')}\n"
        "print(json.dumps(data, sort_keys=True))\n"
        "try:\n"
        "    {}['missing']\n"
        "except KeyError as e:\n"
        "    print('caught', repr(e))\n"
        "print(sum(x for x in range(10 ** 5) if x % 7 == 3))\n");
    if (Py_FinalizeEx() < 0)
        rc = 1;
    return rc ? 1 : 0;
}
