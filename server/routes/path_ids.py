"""A path parameter that takes any text, line breaks included: a session id may hold one.

Starlette's `path` convertor is `.*`, which stops at a line break, so `/memory/clear/a%0Ab` was
a 404 for a session id (`"a\\nb"`) that chat accepts and stores. Registered once, at import.
"""

from starlette.convertors import PathConvertor, register_url_convertor


class AnyTextConvertor(PathConvertor):
    """`path`, but matching every character."""

    regex = r"[\s\S]*"


register_url_convertor("anytext", AnyTextConvertor())
