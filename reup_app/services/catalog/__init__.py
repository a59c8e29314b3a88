"""Catalog: what sellers list and what buyers find -- products, CSV import/export, images,
price tiers and buyer prices, the marketplace search, facets and product pages.

Modules, and the public functions re-exported here (loaded on first use):

- `catalog_query`: The catalog query: parse and validate what a buyer asks for (text, filters, sort,
  page).
- `facets`: Catalog facets: how many visible products fall in each category and strain type.
  `get_catalog_facets`.
- `fulltext`: MySQL full-text search support: the server's FULLTEXT settings (cached per engine) and
  search terms. `search_terms`.
- `images`: Product images: upload checks, private storage, and who may fetch them. `add_image`,
  `delete_image`, `image_url`, `list_images`, `make_ticket`, `media_root`, `open_image`,
  `public_image_urls`, `sniff_image`, `ticket_valid`.
- `price_tiers`: A seller's price tiers: named price lists, per-product tier prices, and which
  customer gets which. `assign_tier`, `create_tier`, `delete_tier`, `list_customers`, `list_tiers`,
  `set_tier_price`, `tier_prices`.
- `pricing`: The price a buyer pays: the seller's price tier for that buyer when one is assigned,
  else list. `buyer_unit_prices`.
- `product_csv`: CSV export and import of a wholesaler's own products (matched by SKU).
  `error_report_csv`, `export_products_csv`, `import_products_csv`.
- `product_detail`: One marketplace product with its packages (batch / lab data) and the price for
  this buyer. `availability`, `get_product_detail`.
- `product_fields`: Product fields: parse and validate what a seller enters for a product (form or
  CSV row). `parse_product_fields`.
- `products`: A wholesaler's own catalog: list, create, edit, archive and unarchive its products.
  `apply_fields`, `archive_product`, `brand_for`, `create_product`, `emit_products_changed`,
  `get_own_product`, `is_public`, `list_own_products`, `own_product`, `sku_taken`,
  `unarchive_product`, `update_product`.
- `search`: Marketplace catalog: search, filter, sort and page the products buyers can see.
  `search_catalog`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reup_app.services.lazy_exports import exports

if TYPE_CHECKING:
    from reup_app.services.catalog.catalog_query import (
        DEFAULT_PAGE_SIZE,
        MAX_PAGE,
        MAX_PAGE_SIZE,
        MAX_TEXT_LENGTH,
        SORTS,
        CatalogQuery,
    )
    from reup_app.services.catalog.facets import (
        CatalogFacets,
        FacetCount,
        get_catalog_facets,
    )
    from reup_app.services.catalog.fulltext import (
        search_terms,
    )
    from reup_app.services.catalog.images import (
        MAX_IMAGE_BYTES,
        MAX_IMAGES_PER_PRODUCT,
        TICKET_SECONDS,
        ImageRow,
        ServedImage,
        add_image,
        delete_image,
        image_url,
        list_images,
        make_ticket,
        media_root,
        open_image,
        public_image_urls,
        sniff_image,
        ticket_valid,
    )
    from reup_app.services.catalog.price_tiers import (
        CustomerRow,
        TierPriceRow,
        TierRow,
        assign_tier,
        create_tier,
        delete_tier,
        list_customers,
        list_tiers,
        set_tier_price,
        tier_prices,
    )
    from reup_app.services.catalog.pricing import (
        buyer_unit_prices,
    )
    from reup_app.services.catalog.product_csv import (
        MAX_BYTES,
        MAX_ROWS,
        ImportReport,
        RowError,
        error_report_csv,
        export_products_csv,
        import_products_csv,
    )
    from reup_app.services.catalog.product_detail import (
        LotInfo,
        ProductDetail,
        availability,
        get_product_detail,
    )
    from reup_app.services.catalog.product_fields import (
        CATEGORIES,
        FIELD_LABELS,
        FIELDS,
        LISTING_STATES,
        REQUIRED_FIELDS,
        STRAIN_TYPES,
        UNITS,
        ProductFieldErrors,
        ProductFields,
        parse_product_fields,
    )
    from reup_app.services.catalog.products import (
        ProductPage,
        ProductRow,
        apply_fields,
        archive_product,
        brand_for,
        create_product,
        emit_products_changed,
        get_own_product,
        is_public,
        list_own_products,
        own_product,
        sku_taken,
        unarchive_product,
        update_product,
    )
    from reup_app.services.catalog.search import (
        CatalogItem,
        CatalogPage,
        search_catalog,
    )

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "MAX_TEXT_LENGTH",
    "SORTS",
    "CatalogQuery",
    "CatalogFacets",
    "FacetCount",
    "get_catalog_facets",
    "search_terms",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGES_PER_PRODUCT",
    "TICKET_SECONDS",
    "ImageRow",
    "ServedImage",
    "add_image",
    "delete_image",
    "image_url",
    "list_images",
    "make_ticket",
    "media_root",
    "open_image",
    "public_image_urls",
    "sniff_image",
    "ticket_valid",
    "CustomerRow",
    "TierPriceRow",
    "TierRow",
    "assign_tier",
    "create_tier",
    "delete_tier",
    "list_customers",
    "list_tiers",
    "set_tier_price",
    "tier_prices",
    "buyer_unit_prices",
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportReport",
    "RowError",
    "error_report_csv",
    "export_products_csv",
    "import_products_csv",
    "LotInfo",
    "ProductDetail",
    "availability",
    "get_product_detail",
    "CATEGORIES",
    "FIELDS",
    "FIELD_LABELS",
    "LISTING_STATES",
    "REQUIRED_FIELDS",
    "STRAIN_TYPES",
    "UNITS",
    "ProductFieldErrors",
    "ProductFields",
    "parse_product_fields",
    "ProductPage",
    "ProductRow",
    "apply_fields",
    "archive_product",
    "brand_for",
    "create_product",
    "emit_products_changed",
    "get_own_product",
    "is_public",
    "list_own_products",
    "own_product",
    "sku_taken",
    "unarchive_product",
    "update_product",
    "CatalogItem",
    "CatalogPage",
    "search_catalog",
]

_HOME = {
    "DEFAULT_PAGE_SIZE": "catalog_query",
    "MAX_PAGE": "catalog_query",
    "MAX_PAGE_SIZE": "catalog_query",
    "MAX_TEXT_LENGTH": "catalog_query",
    "SORTS": "catalog_query",
    "CatalogQuery": "catalog_query",
    "CatalogFacets": "facets",
    "FacetCount": "facets",
    "get_catalog_facets": "facets",
    "search_terms": "fulltext",
    "MAX_IMAGE_BYTES": "images",
    "MAX_IMAGES_PER_PRODUCT": "images",
    "TICKET_SECONDS": "images",
    "ImageRow": "images",
    "ServedImage": "images",
    "add_image": "images",
    "delete_image": "images",
    "image_url": "images",
    "list_images": "images",
    "make_ticket": "images",
    "media_root": "images",
    "open_image": "images",
    "public_image_urls": "images",
    "sniff_image": "images",
    "ticket_valid": "images",
    "CustomerRow": "price_tiers",
    "TierPriceRow": "price_tiers",
    "TierRow": "price_tiers",
    "assign_tier": "price_tiers",
    "create_tier": "price_tiers",
    "delete_tier": "price_tiers",
    "list_customers": "price_tiers",
    "list_tiers": "price_tiers",
    "set_tier_price": "price_tiers",
    "tier_prices": "price_tiers",
    "buyer_unit_prices": "pricing",
    "MAX_BYTES": "product_csv",
    "MAX_ROWS": "product_csv",
    "ImportReport": "product_csv",
    "RowError": "product_csv",
    "error_report_csv": "product_csv",
    "export_products_csv": "product_csv",
    "import_products_csv": "product_csv",
    "LotInfo": "product_detail",
    "ProductDetail": "product_detail",
    "availability": "product_detail",
    "get_product_detail": "product_detail",
    "CATEGORIES": "product_fields",
    "FIELDS": "product_fields",
    "FIELD_LABELS": "product_fields",
    "LISTING_STATES": "product_fields",
    "REQUIRED_FIELDS": "product_fields",
    "STRAIN_TYPES": "product_fields",
    "UNITS": "product_fields",
    "ProductFieldErrors": "product_fields",
    "ProductFields": "product_fields",
    "parse_product_fields": "product_fields",
    "ProductPage": "products",
    "ProductRow": "products",
    "apply_fields": "products",
    "archive_product": "products",
    "brand_for": "products",
    "create_product": "products",
    "emit_products_changed": "products",
    "get_own_product": "products",
    "is_public": "products",
    "list_own_products": "products",
    "own_product": "products",
    "sku_taken": "products",
    "unarchive_product": "products",
    "update_product": "products",
    "CatalogItem": "search",
    "CatalogPage": "search",
    "search_catalog": "search",
}

__getattr__ = exports(__name__, _HOME)
