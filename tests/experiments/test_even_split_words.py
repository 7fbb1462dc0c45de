from experiments.selectors.report_history import _even_split_words


def test_one_click_is_singular_and_more_are_plural():
    assert _even_split_words(1.2, "clicks", 3) == "1 more click than an even 3-way test"
    assert _even_split_words(2.0, "clicks", 2) == "2 more clicks than a 50/50 test"
    assert _even_split_words(-0.6, "add-to-carts", 2).startswith("1 fewer add-to-cart than a 50/50 test")
    assert _even_split_words(1234.4, "purchases", 4) == "1,234 more purchases than an even 4-way test"
