"""CatalogQuery.parse / validate: browser input -> a valid catalog query, or a specific error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reup_app.errors import ValidationError
from reup_app.services.catalog.catalog_query import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    MAX_TEXT_LENGTH,
    SORTS,
    CatalogQuery,
)
from reup_app.services.catalog.fulltext import search_terms


def _error(**raw) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        CatalogQuery.parse(**raw)
    return exc.value


def test_defaults_when_nothing_is_given():
    q = CatalogQuery.parse()
    assert q == CatalogQuery(
        text="",
        category=None,
        strain_type=None,
        thc_min=None,
        thc_max=None,
        price_min=None,
        price_max=None,
        in_stock=False,
        seller_entity_id=None,
        sort="name",
        page=1,
        page_size=DEFAULT_PAGE_SIZE,
    )
    assert q.page_size == 24
    assert q.offset == 0


def test_empty_strings_mean_no_filter():
    q = CatalogQuery.parse(
        text="   ",
        category="",
        strain_type="",
        thc_min="",
        thc_max=" ",
        price_min="",
        price_max="",
        in_stock="",
        seller_entity_id="",
        sort="",
        page="",
        page_size="",
    )
    assert q == CatalogQuery()


def test_browser_strings_are_converted():
    q = CatalogQuery.parse(
        text="  Blue   Dream\t",
        category=" Flower ",
        strain_type="HYBRID",
        thc_min="18.5",
        thc_max="30",
        price_min="10",
        price_max="99.99",
        in_stock="on",
        seller_entity_id="42",
        sort="PRICE_DESC",
        page="3",
        page_size="48",
    )
    assert q.text == "Blue Dream"
    assert q.category == "flower"
    assert q.strain_type == "hybrid"
    assert q.thc_min == Decimal("18.5") and isinstance(q.thc_min, Decimal)
    assert q.thc_max == Decimal(30)
    assert q.price_min == Decimal(10) and q.price_max == Decimal("99.99")
    assert q.in_stock is True
    assert q.seller_entity_id == 42
    assert q.sort == "price_desc"
    assert (q.page, q.page_size, q.offset) == (3, 48, 96)


def test_python_values_are_accepted():
    q = CatalogQuery.parse(
        price_min=Decimal("5.25"), price_max=20, thc_min=12.5, in_stock=True, page=2, page_size=100, seller_entity_id=7
    )
    assert (q.price_min, q.price_max, q.thc_min) == (Decimal("5.25"), Decimal(20), Decimal("12.5"))
    assert (q.in_stock, q.page, q.page_size, q.seller_entity_id) == (True, 2, 100, 7)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("true", True),
        ("1", True),
        ("yes", True),
        ("ON", True),
        ("false", False),
        ("0", False),
        ("off", False),
        ("", False),
        (None, False),
        (0, False),
        (1, True),
    ],
)
def test_in_stock_values(raw, expected):
    assert CatalogQuery.parse(in_stock=raw).in_stock is expected


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_is_accepted(sort):
    assert CatalogQuery.parse(sort=sort).sort == sort


def test_unknown_category():
    err = _error(category="seeds")
    assert err.field == "category"
    assert "Unknown category 'seeds'" in str(err)
    assert "flower" in str(err) and "topicals" in str(err)


def test_unknown_strain_type():
    err = _error(strain_type="ruderalis")
    assert err.field == "strain_type"
    assert "Unknown strain type 'ruderalis'" in str(err)


def test_unknown_sort():
    err = _error(sort="popularity")
    assert err.field == "sort"
    assert "Unknown sort order 'popularity'" in str(err)
    assert "price_asc" in str(err)


@pytest.mark.parametrize("name,label", [("price_min", "Minimum price"), ("price_max", "Maximum price")])
def test_negative_price(name, label):
    err = _error(**{name: "-1"})
    assert err.field == name
    assert str(err) == f"{label} cannot be negative."


def test_price_min_above_max():
    err = _error(price_min="50", price_max="20")
    assert err.field == "price_min"
    assert str(err) == "Minimum price cannot be more than the maximum price."


def test_equal_min_and_max_are_fine():
    q = CatalogQuery.parse(price_min="20", price_max="20.00", thc_min="25", thc_max="25")
    assert q.price_min == q.price_max == Decimal(20)


@pytest.mark.parametrize("raw", ["abc", "1,000", "12abc"])
def test_price_must_be_a_number(raw):
    err = _error(price_max=raw)
    assert err.field == "price_max"
    assert "Maximum price must be a number" in str(err)


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_price_must_be_finite(raw):
    err = _error(price_min=raw)
    assert err.field == "price_min"
    assert "must be a number" in str(err) or "cannot be negative" in str(err)


def test_price_too_large_and_too_precise():
    assert "cannot be more than" in str(_error(price_max="1e20"))
    assert "at most 2 decimal places" in str(_error(price_max="10.999"))
    assert CatalogQuery.parse(price_max="10.990").price_max == Decimal("10.99")


def test_thc_range_checks():
    assert str(_error(thc_min="-0.5")) == "Minimum THC % cannot be negative."
    assert "cannot be more than 100" in str(_error(thc_max="101"))
    err = _error(thc_min="30", thc_max="20")
    assert err.field == "thc_min"
    assert str(err) == "Minimum THC % cannot be more than the maximum THC %."


@pytest.mark.parametrize("raw", ["0", "-1", 0, -3])
def test_page_below_one(raw):
    err = _error(page=raw)
    assert err.field == "page"
    assert str(err) == "Page must be 1 or more."


@pytest.mark.parametrize("raw", ["abc", "1.5", "2e3", True, [1]])
def test_page_not_a_whole_number(raw):
    err = _error(page=raw)
    assert err.field == "page"
    assert "whole number" in str(err)


def test_page_too_deep():
    assert CatalogQuery.parse(page=str(MAX_PAGE)).page == MAX_PAGE
    err = _error(page=str(MAX_PAGE + 1))
    assert err.field == "page" and "cannot be more than" in str(err)


@pytest.mark.parametrize("raw", ["0", "101", -5, 1000])
def test_page_size_out_of_range(raw):
    err = _error(page_size=raw)
    assert err.field == "page_size"
    assert str(err) == f"Page size must be between 1 and {MAX_PAGE_SIZE}."


def test_page_size_bounds_are_inclusive():
    assert CatalogQuery.parse(page_size="1").page_size == 1
    assert CatalogQuery.parse(page_size="100").page_size == 100


def test_search_text_length():
    assert CatalogQuery.parse(text="x" * MAX_TEXT_LENGTH).text == "x" * MAX_TEXT_LENGTH
    # surrounding blanks are trimmed before counting
    assert CatalogQuery.parse(text="  " + "x" * MAX_TEXT_LENGTH + "  ").text == "x" * MAX_TEXT_LENGTH
    err = _error(text="x" * (MAX_TEXT_LENGTH + 1))
    assert err.field == "text"
    assert str(err) == "Search text must be at most 100 characters."


def test_search_text_must_be_text():
    assert _error(text=123).field == "text"


def test_control_characters_are_removed_from_text():
    assert CatalogQuery.parse(text="blue\x00dream\r\nkush").text == "blue dream kush"


def test_in_stock_garbage():
    err = _error(in_stock="maybe")
    assert err.field == "in_stock" and "true or false" in str(err)


@pytest.mark.parametrize("raw", ["abc", "0", "-4"])
def test_bad_seller(raw):
    assert _error(seller_entity_id=raw).field == "seller_entity_id"


def test_unknown_option_is_refused():
    err = _error(colour="green")
    assert err.field == "colour"
    assert "Unknown search option 'colour'" in str(err)


def test_long_bad_values_are_shortened_in_messages():
    err = _error(category="x" * 500)
    assert len(str(err)) < 200


def test_validate_checks_directly_built_queries():
    with pytest.raises(ValidationError, match="Page must be 1 or more"):
        CatalogQuery(page=0).validate()
    with pytest.raises(ValidationError, match="Page size"):
        CatalogQuery(page_size=0).validate()
    with pytest.raises(ValidationError, match="Unknown sort order"):
        CatalogQuery(sort="random").validate()
    with pytest.raises(ValidationError, match="Unknown category"):
        CatalogQuery(category="Flower").validate()  # direct construction is not normalised
    with pytest.raises(ValidationError, match="cannot be negative"):
        CatalogQuery(price_min=Decimal(-1)).validate()
    with pytest.raises(ValidationError, match="Minimum price cannot be more"):
        CatalogQuery(price_min=Decimal(9), price_max=Decimal(1)).validate()
    with pytest.raises(ValidationError, match="at most 100 characters"):
        CatalogQuery(text="y" * 101).validate()
    with pytest.raises(ValidationError):
        CatalogQuery(page="2").validate()  # type: ignore[arg-type]
    q = CatalogQuery(text="  a   b ", category="edibles", sort="newest")
    assert q.validate() is q and q.text == "a b"


def test_search_terms_strip_boolean_operators_and_wildcards():
    assert search_terms('+Blue -"dream" (OG)~ *kush* <haze> @3 %50_off% blue') == [
        "blue",
        "dream",
        "og",
        "kush",
        "haze",
        "3",
        "50_off",
    ]
    assert search_terms('+-<>()~*"@%') == []
    assert search_terms("Jack's") == ["jack", "s"]
    assert search_terms("Café Crème") == ["café", "crème"]
