"""The `nezuko` console script: the top layer, above `demo` and `bootstrap`.

It only gathers the sub-commands (`nezuko.commands`) into one parser (`nezuko.cli`). It sits
above `demo` because `nezuko demo` is one of them and `demo` is itself a client of `bootstrap`;
keeping the registry in `bootstrap` would make `bootstrap` import a layer above it.
"""
