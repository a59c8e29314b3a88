"""/pos: a retailer's Dutchie stores (connect, test, sync, settings), reorder suggestions with their
math and trend, and the mapping of unmatched POS products. /sell-through: a brand's weekly units
at the stores that opted in."""

import reflex as rx

from reup_app.components.forms import error_callout, field, notice_callout
from reup_app.components.shell import page_shell
from reup_app.state.pos import PosState as P
from reup_app.state.sell_through import SellThroughState as T


def _store_card(row) -> rx.Component:
    label = row["license"]
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.text(row["premises"], " (", label, ")", weight="bold"),
                    rx.cond(row["location_name"] != "", rx.text("Dutchie location: ", row["location_name"], size="1")),
                    spacing="0",
                ),
                rx.spacer(),
                rx.badge(row["status_label"], data_testid="pos-status"),
                width="100%",
            ),
            rx.cond(row["warning"] != "", rx.callout(row["warning"], color_scheme="orange", data_testid="pos-warning")),
            rx.text("Last sync: ", row["last_sync"], size="2", data_testid="pos-last-sync"),
            rx.text(row["products"], " POS products, ", row["unmatched"], " not matched", size="2"),
            rx.cond(row["last_error"] != "", rx.text(row["last_error"], size="2", color_scheme="red")),
            rx.hstack(
                rx.cond(
                    row["connected"] != "",
                    rx.button("Replace key", size="1", on_click=P.open_connect(row["license_id"]),
                              aria_label="Replace key for store " + label),
                    rx.button("Connect", size="1", on_click=P.open_connect(row["license_id"]),
                              aria_label="Connect store " + label),
                ),
                rx.cond(row["connected"] != "", rx.fragment(
                    rx.button("Test", size="1", variant="soft", on_click=P.test_store(row["license_id"]),
                              aria_label="Test store " + label),
                    rx.button("Sync now", size="1", variant="soft", disabled=row["status"] == "running",
                              on_click=P.sync_now(row["license_id"]), aria_label="Sync now: store " + label),
                )),
                rx.button("Show suggestions", size="1", variant="outline", on_click=P.select_store(row["license_id"])),
                spacing="2",
                wrap="wrap",
            ),
            rx.cond(P.connect_for == row["license_id"], rx.form(
                rx.vstack(
                    rx.el.input(type="hidden", name="license_id", value=row["license_id"]),
                    field("Dutchie location API key", "location_key", type_="password", prefix="pos-" + row["license_id"],
                          hint="Dutchie back office: Settings > Integrations > API keys. Stored encrypted."),
                    rx.hstack(rx.button("Save key", type="submit"),
                              rx.button("Cancel", type="button", variant="soft", on_click=P.cancel), spacing="2"),
                    spacing="2",
                ),
                on_submit=P.connect, reset_on_submit=True,
            )),
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="license_id", value=row["license_id"]),
                    rx.text("Target cover (days)", size="2"),
                    rx.input(name="target", default_value=row["target"], width="70px", aria_label="Target cover days"),
                    rx.el.select(rx.el.option("Draft receive at delivery", value="receive"),
                                 rx.el.option("Purchase order at acceptance", value="purchase_order"),
                                 name="push_mode", default_value=row["push_mode"], aria_label="Push mode"),
                    rx.el.label(rx.el.input(type="checkbox", name="share", default_checked=row["share"] != ""),
                                " Share sell-through with brands", font_size="14px"),
                    rx.button("Save", size="1", variant="soft", type="submit"),
                    spacing="2", align="center", wrap="wrap",
                ),
                on_submit=P.save_settings,
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="pos-store-" + label,
    )  # fmt: skip


def _suggestion(row) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.text(row["name"], weight="bold"),
                rx.text(
                    "Reorder ",
                    row["quantity"],
                    " of ",
                    row["product"],
                    " from ",
                    row["seller"],
                    " at $",
                    row["price"],
                    " (",
                    row["offer"],
                    ")",
                    size="2",
                ),  # fmt: skip
                rx.text(
                    "On hand ",
                    row["on_hand"],
                    " · ",
                    row["velocity"],
                    "/day · ",
                    row["cover"],
                    " days of cover · lead ",
                    row["lead"],
                    " d + target ",
                    row["target"],
                    " d",
                    size="2",
                    color_scheme="gray",
                ),  # fmt: skip
                rx.text(row["math"], size="1", color_scheme="gray", data_testid="suggestion-math"),
                spacing="1",
                flex="1",
            ),
            rx.recharts.line_chart(
                rx.recharts.line(data_key="units", stroke="#2f9e44", dot=False),
                rx.recharts.x_axis(data_key="week", hide=True),
                data=P.trends[row["pos_id"]],
                width=160,
                height=60,
            ),
            rx.button("Add to cart", size="2", on_click=P.add_one(row["pos_id"]), aria_label="Add " + row["name"]),
            spacing="3",
            align="center",
            width="100%",
        ),
        width="100%",
        data_testid="suggestion",
    )


def _unmatched(row) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(row["name"], " · SKU ", row["sku"], " · ", row["brand"], size="2"),
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="pos_id", value=row["id"]),
                    rx.input(
                        name="q", placeholder="Search marketplace", size="1", aria_label="Search for " + row["name"]
                    ),
                    rx.button("Find", size="1", type="submit"),
                    spacing="1",
                ),
                on_submit=P.search,
            ),
            spacing="3",
            wrap="wrap",
        ),
        rx.cond(
            P.map_for == row["id"],
            rx.vstack(
                rx.foreach(
                    P.candidates, lambda c: rx.button(c["label"], size="1", variant="ghost", on_click=P.map_to(c["id"]))
                )
            ),  # fmt: skip
        ),
        spacing="1",
        width="100%",
    )


@rx.page(route="/pos", title="Store POS · ReUp", on_load=P.load)
def pos_page() -> rx.Component:
    return page_shell(
        error_callout(P.error),
        notice_callout(P.notice),
        rx.cond(
            P.can_manage,
            rx.vstack(
                rx.heading("Dutchie stores", size="4", as_="h2"),
                rx.foreach(P.stores, _store_card),
                spacing="3",
                width="100%",
            ),
        ),
        rx.hstack(
            rx.heading("Reorder suggestions", size="4", as_="h2"),
            rx.spacer(),
            rx.button("Add all to cart", on_click=P.add_all, disabled=P.rows.length() == 0),
            width="100%",
            margin_top="16px",
        ),
        rx.cond(
            P.rows.length() > 0,
            rx.vstack(rx.foreach(P.rows, _suggestion), spacing="2", width="100%"),
            rx.text("Nothing to reorder for this store right now (", P.matched, " matched products).", size="2"),
        ),
        rx.cond(
            P.unmatched.length() > 0,
            rx.vstack(
                rx.heading("Not matched to the marketplace", size="4", as_="h2", margin_top="16px"),
                rx.foreach(P.unmatched, _unmatched),
                spacing="2",
                width="100%",
            ),
        ),
        title="Store POS",
    )


def _sell_row(row) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.text(row["store"], " · ", row["total"], " units in 12 weeks", weight="bold", size="2", flex="1"),
            rx.recharts.bar_chart(
                rx.recharts.bar(data_key="units", fill="#2f9e44"),
                rx.recharts.x_axis(data_key="week", hide=True),
                data=T.series[row["license_id"]],
                width=240,
                height=70,
            ),
            width="100%",
            align="center",
        ),
        width="100%",
        data_testid="sell-through-store",
    )


@rx.page(route="/sell-through", title="Sell-through · ReUp", on_load=T.load)
def sell_through_page() -> rx.Component:
    return page_shell(
        error_callout(T.error),
        rx.text("Weekly units of your products at the stores that chose to share their POS sales.", size="2"),
        rx.cond(
            T.rows.length() > 0,
            rx.vstack(rx.foreach(T.rows, _sell_row), spacing="2", width="100%"),
            rx.text("No store shares its sales of your products yet.", size="2"),
        ),
        title="Sell-through",
    )
