"""The rule that splits one seller's part of a cart over its licenses (one order per license)."""

from decimal import Decimal as D

from reup_app.services.ordering.license_split import split_over_licenses


def test_one_license_that_covers_everything_ships_it_all():
    split = split_over_licenses([(1, D(5)), (2, D(3))], [10, 20], {(1, 10): D(5), (2, 10): D(3), (1, 20): D(99)})
    assert split.parts == {10: [(1, D(5)), (2, D(3))]} and split.short == {}


def test_a_line_no_license_covers_is_split_biggest_first():
    split = split_over_licenses([(1, D(228))], [10, 20], {(1, 10): D(146), (1, 20): D(192)})
    assert split.parts == {20: [(1, D(192))], 10: [(1, D(36))]} and split.order_count == 2


def test_whole_lines_prefer_a_license_already_used():
    sellable = {(1, 10): D(10), (2, 10): D(1), (2, 20): D(9), (2, 30): D(50), (3, 10): D(4), (3, 30): D(40)}
    split = split_over_licenses([(1, D(10)), (2, D(5)), (3, D(4))], [10, 20, 30], sellable)
    # product 3 fits on both used licenses: the one with more stock; still two orders, no third
    assert split.parts == {10: [(1, D(10))], 30: [(2, D(5)), (3, D(4))]}


def test_more_than_all_licenses_hold_is_short_with_what_they_hold():
    split = split_over_licenses([(1, D(400)), (2, D(1))], [10, 20], {(1, 10): D(146), (1, 20): D(192), (2, 10): D(1)})
    assert split.short == {1: D(338)} and split.parts == {10: [(2, D(1))]}


def test_no_license_means_everything_is_short():
    assert split_over_licenses([(1, D(1))], [], {}).short == {1: D(0)}
