"""Static data for the demo seed: companies, licenses, brands, people, strains and product templates.

Everything here is fictional (company names, license numbers, addresses, people) but shaped like
the California market: DCC license numbers ("C11-0000347-LIC" distributor, "C10-…" retail,
"CDPH-…" manufacturer), METRC-tracked packages and LeafLink-style listings.
`reup_app.seed.demo` turns it into rows with a fixed-seed random generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from reup_app.models.enums import Category, Role, StrainType

# --------------------------------------------------------------------------------------------
# Companies
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseSpec:
    number: str
    license_type: str  # "distributor", "manufacturer", "adult_use_retail"
    premises_name: str
    address: str
    city: str
    postal_code: str
    expires_in_days: int  # from the day the demo is seeded
    metrc_facility_code: str  # 9 characters; the middle of this license's package labels


@dataclass(frozen=True)
class BrandSpec:
    name: str
    sku_prefix: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class CompanySpec:
    key: str
    name: str
    legal_name: str
    kind: str  # EntityKind
    domain: str  # e-mail domain of its demo users
    phone: str
    address: str
    city: str
    postal_code: str
    description: str
    payment_terms_offered: str
    min_order_amount: Decimal
    licenses: tuple[LicenseSpec, ...]
    people: tuple[tuple[str, str], ...]  # (role, full name)
    brands: tuple[BrandSpec, ...] = ()
    delivery_preferences: str | None = None


C = Category

WHOLESALERS: tuple[CompanySpec, ...] = (
    CompanySpec(
        key="pacificbloom",
        name="Pacific Bloom Distribution",
        legal_name="Pacific Bloom Distribution, Inc.",
        kind="wholesaler",
        domain="pacificbloom.demo",
        phone="(510) 555-0142",
        address="2150 Adeline St",
        city="Oakland",
        postal_code="94607",
        description=(
            "Bay Area brand house and licensed distributor. Sun-grown and mixed-light flower from "
            "Mendocino partners, solventless extracts and a commercial kitchen in Emeryville. "
            "Delivery Tuesday to Friday across the Bay Area and Greater Sacramento."
        ),
        payment_terms_offered="cod,net_15,net_30",
        min_order_amount=Decimal("500.00"),
        licenses=(
            LicenseSpec(
                "C11-0000347-LIC",
                "distributor",
                "Pacific Bloom Distribution - Oakland",
                "2150 Adeline St",
                "Oakland",
                "94607",
                214,
                "0603000EB",
            ),
            LicenseSpec(
                "CDPH-10003412",
                "manufacturer",
                "Pacific Bloom Kitchen",
                "1400 Park Ave, Unit B",
                "Emeryville",
                "94608",
                301,
                "0603001CA",
            ),
        ),
        people=(
            (Role.OWNER, "Maya Okafor"),
            (Role.ADMIN, "Daniel Reyes"),
            (Role.SALES, "Priya Natarajan"),
            (Role.FULFILLMENT, "Luis Hernandez"),
            (Role.VIEWER, "Hannah Brooks"),
        ),
        brands=(
            BrandSpec("Pacific Bloom", "PB", (C.FLOWER, C.PRE_ROLLS)),
            BrandSpec("Bay Smalls", "BS", (C.FLOWER, C.PRE_ROLLS)),
            BrandSpec("Coastline Extracts", "CX", (C.VAPES, C.CONCENTRATES)),
            BrandSpec("Golden Hour Kitchen", "GH", (C.EDIBLES,)),
            BrandSpec("Sundial Botanicals", "SB", (C.TINCTURES, C.TOPICALS)),
        ),
    ),
    CompanySpec(
        key="emeraldcoast",
        name="Emerald Coast Supply Co.",
        legal_name="Emerald Coast Supply Company LLC",
        kind="wholesaler",
        domain="emeraldcoast.demo",
        phone="(707) 555-0188",
        address="605 W 3rd St",
        city="Eureka",
        postal_code="95501",
        description=(
            "Humboldt County distributor representing small-batch farms from the Emerald Triangle. "
            "Weekly routes to Los Angeles, the Bay Area and the North Coast; Net 15 and Net 30 "
            "available to approved accounts."
        ),
        payment_terms_offered="cod,net_15,net_30",
        min_order_amount=Decimal("750.00"),
        licenses=(
            LicenseSpec(
                "C11-0001172-LIC",
                "distributor",
                "Emerald Coast Supply - Eureka Warehouse",
                "605 W 3rd St",
                "Eureka",
                "95501",
                162,
                "1201000DF",
            ),
        ),
        people=(
            (Role.OWNER, "Grant Whitaker"),
            (Role.ADMIN, "Sofia Castillo"),
            (Role.SALES, "Marcus Bell"),
            (Role.FULFILLMENT, "Tomas Lindqvist"),
            (Role.VIEWER, "Aiyana Redcloud"),
        ),
        brands=(
            BrandSpec("Humboldt Heritage Farms", "HH", (C.FLOWER, C.PRE_ROLLS)),
            BrandSpec("Redwood Reserve", "RR", (C.FLOWER, C.PRE_ROLLS)),
            BrandSpec("Lost Coast Labs", "LC", (C.VAPES, C.CONCENTRATES)),
            BrandSpec("Fog City Confections", "FC", (C.EDIBLES,)),
            BrandSpec("Tidepool Wellness", "TW", (C.TINCTURES, C.TOPICALS)),
        ),
    ),
)

RETAILERS: tuple[CompanySpec, ...] = (
    CompanySpec(
        key="greenleaf",
        name="Greenleaf Dispensary",
        legal_name="Greenleaf Wellness Group, Inc.",
        kind="retailer",
        domain="greenleaf.demo",
        phone="(415) 555-0117",
        address="2140 Mission St",
        city="San Francisco",
        postal_code="94110",
        description="Neighbourhood adult-use dispensary in the Mission District.",
        payment_terms_offered="cod",
        min_order_amount=Decimal("0.00"),
        licenses=(
            LicenseSpec(
                "C10-0000712-LIC",
                "adult_use_retail",
                "Greenleaf Dispensary - Mission",
                "2140 Mission St",
                "San Francisco",
                "94110",
                245,
                "0301007GA",
            ),
        ),
        people=(
            (Role.OWNER, "Jordan Kim"),
            (Role.BUYER, "Alexis Moreno"),
            (Role.VIEWER, "Sam Patel"),
        ),
        delivery_preferences="Receiving Tue-Thu 10am-3pm at the rear door on Capp St; call 30 minutes ahead.",
    ),
    CompanySpec(
        key="canopy",
        name="Canopy Collective",
        legal_name="Canopy Collective LA, LLC",
        kind="retailer",
        domain="canopy.demo",
        phone="(323) 555-0163",
        address="3318 Sunset Blvd",
        city="Los Angeles",
        postal_code="90026",
        description="Two adult-use storefronts: Silver Lake and Long Beach.",
        payment_terms_offered="cod",
        min_order_amount=Decimal("0.00"),
        licenses=(
            LicenseSpec(
                "C10-0001456-LIC",
                "adult_use_retail",
                "Canopy Collective - Silver Lake",
                "3318 Sunset Blvd",
                "Los Angeles",
                "90026",
                118,
                "1904004HB",
            ),
            LicenseSpec(
                "C10-0002089-LIC",
                "adult_use_retail",
                "Canopy Collective - Long Beach",
                "1120 E 4th St",
                "Long Beach",
                "90802",
                330,
                "1904020JC",
            ),
        ),
        people=(
            (Role.OWNER, "Renee Dubois"),
            (Role.BUYER, "Kenji Watanabe"),
            (Role.VIEWER, "Olivia Grant"),
        ),
        delivery_preferences="Deliver Wednesdays before noon; manifests to the Silver Lake store manager.",
    ),
)

PLATFORM_ADMIN = ("admin@reup.demo", "ReUp Platform Admin")

# --------------------------------------------------------------------------------------------
# Strains: (name, strain type, typical flower THC % low, high)
# --------------------------------------------------------------------------------------------

S = StrainType

STRAINS: tuple[tuple[str, str, int, int], ...] = (
    ("Blue Dream", S.HYBRID, 18, 24),
    ("OG Kush", S.HYBRID, 20, 26),
    ("Sour Diesel", S.SATIVA, 19, 25),
    ("Granddaddy Purple", S.INDICA, 17, 23),
    ("Gelato #33", S.HYBRID, 22, 28),
    ("Wedding Cake", S.INDICA, 22, 27),
    ("GG4", S.HYBRID, 23, 29),
    ("Zkittlez", S.INDICA, 17, 22),
    ("Jack Herer", S.SATIVA, 18, 23),
    ("Durban Poison", S.SATIVA, 17, 24),
    ("Northern Lights", S.INDICA, 16, 21),
    ("Pineapple Express", S.HYBRID, 17, 23),
    ("GSC", S.HYBRID, 21, 27),
    ("Purple Punch", S.INDICA, 18, 24),
    ("Strawberry Cough", S.SATIVA, 17, 22),
    ("Super Lemon Haze", S.SATIVA, 18, 24),
    ("Ice Cream Cake", S.INDICA, 21, 27),
    ("Runtz", S.HYBRID, 22, 28),
    ("MAC 1", S.HYBRID, 21, 27),
    ("Green Crack", S.SATIVA, 17, 23),
    ("Tangie", S.SATIVA, 18, 22),
    ("Bubba Kush", S.INDICA, 16, 22),
    ("Trainwreck", S.SATIVA, 18, 24),
    ("Biscotti", S.INDICA, 21, 26),
    ("Apple Fritter", S.HYBRID, 22, 28),
    ("Lemon Cherry Gelato", S.HYBRID, 23, 29),
    ("Do-Si-Dos", S.INDICA, 22, 28),
    ("Sunset Sherbet", S.INDICA, 18, 24),
    ("Mimosa", S.SATIVA, 18, 23),
    ("Jealousy", S.HYBRID, 24, 30),
)

# High-CBD cultivars: (name, THC % low, high, CBD % low, high)
CBD_STRAINS: tuple[tuple[str, int, int, int, int], ...] = (
    ("Harlequin", 5, 8, 9, 13),
    ("ACDC", 1, 2, 14, 19),
    ("Cannatonic", 4, 7, 10, 15),
    ("Ringo's Gift", 1, 3, 13, 18),
)

# --------------------------------------------------------------------------------------------
# Product templates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductTemplate:
    """One kind of listing. `name` may contain "{strain}"; then a strain is drawn for it.

    Prices are wholesale per unit of measure, in dollars; `thc` is the potency range in percent
    (None for products labelled in milligrams: edibles, tinctures, topicals).
    """

    code: str  # two letters in the SKU
    name: str
    uom: str
    case_size: int
    price: tuple[str, str]
    min_order: int
    thc: tuple[int, int] | None = None
    description: str = ""
    cbd_strain: bool = False


T = ProductTemplate

STRAIN_TEMPLATES: dict[str, tuple[ProductTemplate, ...]] = {
    C.FLOWER: (
        T(
            "FE",
            "{strain} Eighth (3.5g)",
            "each",
            16,
            ("15.00", "28.00"),
            8,
            None,
            "Hand-trimmed, hang-dried and cured 21 days. Packed in a resealable glass jar.",
        ),
        T(
            "FQ",
            "{strain} Quarter (7g)",
            "each",
            8,
            ("28.00", "48.00"),
            4,
            None,
            "Whole-flower quarter in a nitrogen-flushed mylar pouch.",
        ),
        T(
            "FS",
            "{strain} Smalls Half Ounce (14g)",
            "each",
            6,
            ("45.00", "70.00"),
            6,
            None,
            "Small buds from the same harvest; same cure, friendlier price.",
        ),
        T(
            "FB",
            "{strain} Bulk Flower",
            "oz",
            16,
            ("70.00", "120.00"),
            4,
            None,
            "Bulk by the ounce for in-store packaging; 1 lb case.",
        ),
    ),
    C.PRE_ROLLS: (
        T(
            "PR",
            "{strain} Pre-Roll 1g",
            "each",
            50,
            ("4.00", "7.00"),
            25,
            (20, 28),
            "Single 1 g cone of whole flower, no trim or shake.",
        ),
        T(
            "P5",
            "{strain} Mini Pre-Rolls 5-Pack (2.5g)",
            "each",
            12,
            ("12.00", "18.00"),
            6,
            (19, 27),
            "Five 0.5 g joints in a child-resistant tin.",
        ),
        T(
            "PI",
            "{strain} Infused Pre-Roll 1g",
            "each",
            24,
            ("8.00", "12.00"),
            12,
            (34, 44),
            "Flower rolled with live resin and dusted with kief.",
        ),
    ),
    C.VAPES: (
        T(
            "VL",
            "{strain} Live Resin Cartridge 1g",
            "each",
            10,
            ("18.00", "28.00"),
            10,
            (74, 84),
            "Single-source live resin, strain-specific terpenes, 510 thread ceramic cartridge.",
        ),
        T(
            "VD",
            "{strain} Distillate Cartridge 0.5g",
            "each",
            20,
            ("9.00", "14.00"),
            10,
            (86, 92),
            "Distillate with botanical terpenes; 510 thread.",
        ),
        T(
            "VA",
            "{strain} All-in-One Disposable 1g",
            "each",
            10,
            ("20.00", "27.00"),
            10,
            (80, 88),
            "Rechargeable all-in-one with live resin; USB-C.",
        ),
    ),
    C.CONCENTRATES: (
        T(
            "CR",
            "{strain} Live Rosin 1g",
            "each",
            10,
            ("24.00", "38.00"),
            5,
            (68, 78),
            "Solventless cold-cure rosin pressed from fresh-frozen ice water hash.",
        ),
        T("CB", "{strain} Live Badder 1g", "each", 10, ("13.00", "20.00"), 10, (70, 80), "Whipped live resin badder."),
        T(
            "CD",
            "{strain} THCa Diamonds 1g",
            "each",
            10,
            ("17.00", "26.00"),
            10,
            (82, 92),
            "THCa diamonds in high-terpene sauce.",
        ),
        T(
            "CS",
            "{strain} Shatter 1g",
            "each",
            20,
            ("9.00", "14.00"),
            10,
            (72, 82),
            "Classic BHO shatter, glass-stable.",
        ),
    ),
}

CBD_TEMPLATES: dict[str, tuple[ProductTemplate, ...]] = {
    C.FLOWER: (
        T(
            "FC",
            "{strain} High-CBD Eighth (3.5g)",
            "each",
            16,
            ("14.00", "22.00"),
            8,
            None,
            "High-CBD cultivar for daytime use.",
            cbd_strain=True,
        ),
    ),
    C.PRE_ROLLS: (
        T(
            "PC",
            "{strain} CBD Pre-Roll 1g",
            "each",
            50,
            ("4.00", "6.00"),
            25,
            None,
            "Balanced high-CBD pre-roll.",
            cbd_strain=True,
        ),
    ),
}

# Products sold by milligrams (names already specific). Each wholesaler gets half of each list.
MG_PRODUCTS: dict[str, tuple[ProductTemplate, ...]] = {
    C.EDIBLES: (
        T(
            "EG",
            "Wild Berry Gummies 100mg (10pk)",
            "each",
            24,
            ("7.00", "10.00"),
            12,
            None,
            "Ten 10 mg THC gummies, vegan pectin, real fruit.",
        ),
        T(
            "EW",
            "Sour Watermelon Gummies 100mg (10pk)",
            "each",
            24,
            ("7.00", "10.00"),
            12,
            None,
            "Ten 10 mg THC sour gummies.",
        ),
        T(
            "EC",
            "Dark Chocolate Sea Salt Bar 100mg",
            "each",
            20,
            ("8.00", "12.00"),
            10,
            None,
            "72% single-origin dark chocolate, 10 squares of 10 mg THC.",
        ),
        T("EM", "Peach Mango Fruit Chews 100mg", "each", 24, ("7.00", "9.50"), 12, None, "Ten 10 mg THC chews."),
        T(
            "ES",
            "Sleep Gummies 10:2 THC:CBN (10pk)",
            "each",
            24,
            ("9.00", "12.00"),
            12,
            None,
            "100 mg THC and 20 mg CBN per pack, with chamomile.",
        ),
        T(
            "EL",
            "Lemonade Sparkling Beverage 10mg",
            "each",
            24,
            ("3.50", "5.00"),
            24,
            None,
            "12 oz sparkling lemonade, 10 mg fast-onset nano-emulsified THC.",
        ),
        T(
            "EB",
            "Blood Orange 1:1 Gummies (20pk)",
            "each",
            24,
            ("9.00", "13.00"),
            12,
            None,
            "100 mg THC and 100 mg CBD per pack.",
        ),
        T(
            "EK",
            "Cold Brew Coffee Bites 100mg",
            "each",
            20,
            ("8.00", "11.00"),
            10,
            None,
            "Ten 10 mg THC espresso-chocolate bites with 20 mg caffeine each.",
        ),
        T(
            "EP",
            "Pink Lemonade Mints 100mg (20pk)",
            "each",
            24,
            ("7.50", "10.00"),
            12,
            None,
            "Twenty 5 mg THC pressed mints.",
        ),
        T(
            "ET",
            "Salted Caramel Chews 100mg",
            "each",
            24,
            ("7.00", "9.00"),
            12,
            None,
            "Ten 10 mg THC caramels, made with California butter.",
        ),
        T(
            "EH",
            "Hash Rosin Gummies Yuzu 100mg",
            "each",
            24,
            ("12.00", "16.00"),
            12,
            None,
            "Solventless hash rosin gummies, ten 10 mg pieces.",
        ),
        T(
            "EX",
            "Microdose Tart Cherry Gummies 2.5mg (40pk)",
            "each",
            24,
            ("8.00", "11.00"),
            12,
            None,
            "Forty 2.5 mg THC gummies for microdosing.",
        ),
        T(
            "EN",
            "Milk Chocolate Almond Bar 100mg",
            "each",
            20,
            ("8.00", "11.00"),
            10,
            None,
            "Creamy milk chocolate with toasted almonds, 10 x 10 mg.",
        ),
        T(
            "EJ",
            "Sour Apple Gummies 100mg (10pk)",
            "each",
            24,
            ("7.00", "10.00"),
            12,
            None,
            "Ten 10 mg THC sour apple gummies.",
        ),
    ),
    C.TINCTURES: (
        T(
            "T1",
            "1:1 THC:CBD Tincture 30ml (500mg)",
            "each",
            12,
            ("18.00", "26.00"),
            6,
            None,
            "250 mg THC + 250 mg CBD in MCT oil; 1 ml dropper = 8.3 mg each.",
        ),
        T(
            "T2",
            "CBD-Rich 20:1 Tincture 30ml",
            "each",
            12,
            ("20.00", "28.00"),
            6,
            None,
            "1000 mg CBD and 50 mg THC; full-spectrum.",
        ),
        T(
            "T3",
            "Sleep Tincture with CBN 30ml",
            "each",
            12,
            ("22.00", "30.00"),
            6,
            None,
            "300 mg THC and 150 mg CBN with lavender terpene blend.",
        ),
        T(
            "T4",
            "THC Tincture Citrus 30ml (1000mg)",
            "each",
            12,
            ("24.00", "32.00"),
            6,
            None,
            "High-potency THC tincture, citrus flavour.",
        ),
        T(
            "T5",
            "Peppermint 3:1 CBD:THC Drops 15ml",
            "each",
            12,
            ("14.00", "20.00"),
            6,
            None,
            "Pocket-size 3:1 tincture, 300 mg total cannabinoids.",
        ),
        T(
            "T6",
            "Unflavored THC Oil 30ml (600mg)",
            "each",
            12,
            ("18.00", "25.00"),
            6,
            None,
            "Distillate in organic coconut MCT, unflavoured.",
        ),
        T(
            "T7",
            "Daytime 1:1 THC:CBG Tincture 30ml",
            "each",
            12,
            ("22.00", "30.00"),
            6,
            None,
            "300 mg THC and 300 mg CBG for focus.",
        ),
        T(
            "T8",
            "Glycerin THC Tincture Berry 30ml",
            "each",
            12,
            ("16.00", "22.00"),
            6,
            None,
            "Alcohol-free vegetable glycerin base, 500 mg THC.",
        ),
    ),
    C.TOPICALS: (
        T(
            "R1",
            "CBD Relief Balm 2oz (500mg)",
            "each",
            12,
            ("14.00", "20.00"),
            6,
            None,
            "Beeswax balm with arnica and 500 mg full-spectrum CBD.",
        ),
        T(
            "R2",
            "Cooling Roll-On 3oz (1:1)",
            "each",
            12,
            ("16.00", "24.00"),
            6,
            None,
            "Menthol roll-on with 150 mg THC and 150 mg CBD.",
        ),
        T(
            "R3",
            "Transdermal Patch 20mg THC",
            "each",
            24,
            ("6.00", "9.00"),
            12,
            None,
            "12-hour transdermal patch, 20 mg THC.",
        ),
        T(
            "R4",
            "Warming Muscle Rub 4oz",
            "each",
            12,
            ("18.00", "26.00"),
            6,
            None,
            "Capsaicin and 400 mg THC in shea butter.",
        ),
        T(
            "R5",
            "CBD Bath Soak 8oz",
            "each",
            12,
            ("12.00", "18.00"),
            6,
            None,
            "Epsom and Dead Sea salts with 200 mg CBD.",
        ),
        T(
            "R6",
            "Lavender Body Lotion 4oz (200mg)",
            "each",
            12,
            ("12.00", "18.00"),
            6,
            None,
            "Daily lotion, 100 mg THC and 100 mg CBD.",
        ),
        T(
            "R7",
            "Sport Recovery Gel 2oz",
            "each",
            12,
            ("14.00", "20.00"),
            6,
            None,
            "Fast-absorbing gel with 300 mg CBD and 100 mg THC.",
        ),
        T(
            "R8",
            "1:1 Lip Balm 10mg",
            "each",
            48,
            ("3.00", "5.00"),
            24,
            None,
            "Peppermint lip balm, 5 mg THC and 5 mg CBD.",
        ),
    ),
}

# How many listings of each category every wholesaler gets (sum >= 40).
CATEGORY_COUNTS: dict[str, int] = {
    C.FLOWER: 10,
    C.PRE_ROLLS: 7,
    C.VAPES: 7,
    C.EDIBLES: 7,
    C.CONCENTRATES: 6,
    C.TINCTURES: 4,
    C.TOPICALS: 4,
}

LABS: tuple[str, ...] = (
    "SC Labs - Oakland",
    "Anresco Laboratories",
    "CannaSafe Analytics",
    "Encore Labs",
    "Infinite Chemical Analysis Labs",
)

# Lab results are reported per package, as percent by weight where that applies.
PERCENT_CATEGORIES = frozenset({C.FLOWER, C.PRE_ROLLS, C.VAPES, C.CONCENTRATES})
# Manufactured goods; at a wholesaler holding a manufacturer license some packages sit there.
MANUFACTURED_CATEGORIES = frozenset({C.VAPES, C.CONCENTRATES, C.EDIBLES, C.TINCTURES, C.TOPICALS})

# Shelf life in days from packaging.
SHELF_LIFE_DAYS: dict[str, int] = {
    C.FLOWER: 270,
    C.PRE_ROLLS: 270,
    C.VAPES: 540,
    C.CONCENTRATES: 365,
    C.EDIBLES: 300,
    C.TINCTURES: 540,
    C.TOPICALS: 730,
}
