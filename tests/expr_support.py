"""A small, faithful evaluator for the subset of expr-lang (github.com/expr-lang/expr v1.17.7, the version
Argo Workflows v4.0.6 pins in go.mod) that retry expressions here use: string literals in single or double
quotes, arrays, member access `a.b`, `==` `!=` `in` `contains` `startsWith` `endsWith`, `not`/`!`,
`and`/`&&`, `or`/`||` and parentheses. Precedence and associativity are expr's own table
(parser/operator/operator.go: or/|| 10 < and/&& 15 < comparisons 20, all left-associative; unary not 50);
`contains`/`startsWith`/`endsWith` are the string operators of docs/language-definition.md ("String"),
`in` tests membership in an array ("Membership Operator"). Anything outside the subset raises, so a test
never passes on an expression this evaluator does not understand."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<op>\|\||&&|==|!=|!|\(|\)|\[|\]|,|\.)"
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")
_BINARY = {"or": 10, "||": 10, "and": 15, "&&": 15, "==": 20, "!=": 20, "in": 20, "contains": 20,
           "startsWith": 20, "endsWith": 20}


class ExprError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"outside the supported subset at {text[pos:]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        out.append((kind, value[1:-1].encode().decode("unicode_escape") if kind == "str" else value))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, env: dict):
        self.toks, self.i, self.env = _tokens(text), 0, env

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok == (None, None) or (value is not None and tok[1] != value):
            raise ExprError(f"expected {value or 'more'}, got {tok[1]!r}")
        self.i += 1
        return tok

    def expr(self, floor: int = 0):
        left = self.unary()
        while True:
            kind, value = self.peek()
            prec = _BINARY.get(value) if kind in ("op", "word") else None
            if prec is None or prec < floor:
                return left
            self.take()
            right = self.expr(prec + 1)  # left-associative
            left = _apply(value, left, right)

    def unary(self):
        kind, value = self.peek()
        if value in ("!", "not"):
            self.take()
            return not _bool(self.expr(50))
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind == "str":
            return value
        if value == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if value == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.expr())
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("]")
            return items
        if kind == "word" and value not in _BINARY:
            if value not in self.env:
                raise ExprError(f"unknown name {value}")
            node = self.env[value]
            while self.peek()[1] == ".":
                self.take(".")
                _, field = self.take()
                if not isinstance(node, dict) or field not in node:
                    raise ExprError(f"no field {field}")
                node = node[field]
            return node
        raise ExprError(f"unexpected {value!r}")


def _bool(value) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"{value!r} is not a bool")
    return value


def _apply(op: str, left, right):
    if op in ("or", "||"):
        return _bool(left) or _bool(right)
    if op in ("and", "&&"):
        return _bool(left) and _bool(right)
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "in":
        if not isinstance(right, list):
            raise ExprError("in needs an array on the right")
        return left in right
    if not (isinstance(left, str) and isinstance(right, str)):
        raise ExprError(f"{op} needs strings")
    return {"contains": right in left, "startsWith": left.startswith(right), "endsWith": left.endswith(right)}[op]


def evaluate(text: str, env: dict):
    parser = _Parser(text, env)
    result = parser.expr()
    if parser.peek() != (None, None):
        raise ExprError(f"trailing {parser.peek()[1]!r}")
    return result
