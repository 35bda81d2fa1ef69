#!/usr/bin/env python3
"""The gate's own checks, on code made here: each rule flags what breaks it
and passes what keeps it (tests/style/gate.py)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate  # noqa: E402


def body(n):
    return "".join("  x += %d;\n" % i for i in range(n))


class Gate(unittest.TestCase):
    def test_function_length_counts_from_signature_to_brace(self):
        code = gate.strip_comments("static int f(int a,\n             int b) {\n" + body(10) + "}\n")
        self.assertEqual(gate.functions("x.c", code), [("f", 1, 13)])

    def test_a_long_function_is_found_and_comments_do_not_hide_it(self):
        code = gate.strip_comments("int g(void) {\n  /* { */\n" + body(90) + "  return 0;\n}\n")
        [(name, _, count)] = gate.functions("x.c", code)
        self.assertEqual(name, "g")
        self.assertGreater(count, gate.MAX_FUNCTION)

    def test_structs_and_initialisers_are_not_functions(self):
        code = gate.strip_comments("struct s {\n  int a;\n};\nstatic const int t[] = {\n  1,\n};\n")
        self.assertEqual(gate.functions("x.c", code), [])

    def test_code_lines_leave_out_comments_and_blanks(self):
        code = gate.strip_comments("/* a\n * b\n */\n\nint a;\n// c\nint b;\n")
        self.assertEqual(gate.code_lines(code), 2)

    def test_other_returns_than_0_and_minus_1_are_flagged(self):
        code = gate.strip_comments(
            "int a(void) {\n  return -2;\n}\n"
            "static int b(void) {\n  return 1;\n}\n"
            "int c(void) {\n  return DK_ENOTFOUND;\n}\n"
            "int d(void) {\n  if (x)\n    return -1;\n  return 0;\n}\n"
            "int e(void) {\n  return jd_fail(err, errlen, \"x\");\n}\n")
        self.assertEqual(gate.off_convention(code), ["a", "b", "c"])

    def test_an_engine_code_handed_back_by_a_public_function_is_flagged(self):
        code = gate.strip_comments(
            "int pub(void) {\n  int rc = dk_network_remove(dk, n);\n  return rc;\n}\n"
            "int conv(void) {\n  int rc = dk_network_remove(dk, n);\n"
            "  if (rc)\n    rc = jd_build_engine_fail(rc, err, errlen);\n  return rc;\n}\n"
            "static int inner(void) {\n  return dk_image_list(&l, dk);\n}\n")
        self.assertEqual(gate.off_convention(code), ["pub"])

    def test_clang_format_finds_the_unformatted_file_among_many(self):
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(os.path.join(gate.ROOT, ".clang-format"), d)
            paths = []
            for i in range(5):
                paths.append(os.path.join(d, "f%d.c" % i))
                with open(paths[-1], "w") as f:
                    f.write("int  f%d (void){return 0;}\n" % i)
                if i != 3:  # as .clang-format writes it
                    subprocess.run(["clang-format", "--style=file", "-i", paths[-1]], check=True)
            self.assertEqual(gate.clang_format_unformatted(paths), {paths[3]: True})
            self.assertEqual(gate.clang_format_unformatted(paths[:3]), {})

    def test_the_tree_passes(self):
        self.assertEqual(gate.main.__name__, "main")
        sys.argv = ["gate.py"]
        self.assertEqual(gate.main(), 0, "tests/style/gate.py fails on the tree")


if __name__ == "__main__":
    unittest.main()
