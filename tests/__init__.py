import pytest

# The shared builders assert too (post_dispute insists on 201): let pytest explain their failures.
pytest.register_assert_rewrite("tests.builders")
