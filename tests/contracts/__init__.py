"""Port contract suites.

Each `*Contract` class states the behaviour of one port once. Test modules subclass it for every
adapter of that port and provide the fixtures the class documents; the class names do not start
with `Test`, so pytest collects only the subclasses.
"""
