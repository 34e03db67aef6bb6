"""A missing C library is named, with what was tried and the Debian package to install."""

from __future__ import annotations

import pytest
from cffi import FFI

from openfax.errors import SpandspUnavailableError
from openfax.native_library import open_library


def test_a_missing_library_names_the_package_and_the_override(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENFAX_TEST_LIBRARY", "/nowhere/libfaxnothing.so")
    with pytest.raises(SpandspUnavailableError) as caught:
        open_library(
            FFI().dlopen,
            soname="libfaxnothing.so.1",
            short_name="faxnothing",
            env="OPENFAX_TEST_LIBRARY",
            debian_package="libfaxnothing1",
            error=SpandspUnavailableError,
        )
    message = str(caught.value)
    assert "/nowhere/libfaxnothing.so, libfaxnothing.so.1" in message
    assert "libfaxnothing1" in message
    assert "OPENFAX_TEST_LIBRARY" in message


def test_the_override_is_tried_first(monkeypatch: pytest.MonkeyPatch) -> None:
    ffi = FFI()
    ffi.cdef("int abs(int);")
    monkeypatch.setenv("OPENFAX_TEST_LIBRARY", "libc.so.6")
    libc = open_library(
        ffi.dlopen,
        soname="libfaxnothing.so.1",
        short_name="faxnothing",
        env="OPENFAX_TEST_LIBRARY",
        debian_package="libc6",
        error=SpandspUnavailableError,
    )
    assert libc.abs(-3) == 3
