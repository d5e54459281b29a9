"""Chinese search over the club's knowledge (FTS5 trigram / pg_trgm, and short words)."""

from __future__ import annotations

from django.utils import timezone

from callsop.desk import selectors
from callsop.desk.models import KnowledgeItem
from callsop.desk.services.errors import ActionError
from callsop.desk.services.inbox import knowledge_save
from tests.desk.conftest import World


def _titles(world: World, query: str, kind: str = "") -> set[str]:
    return {item.title for item in selectors.knowledge_search(world.alice, query, kind=kind)}


def _seed(world: World) -> None:
    now = timezone.now()
    for club, kind, title, body in (
        (world.xinyi, "news", "週六瑜伽新課", "週六上午九點哈達瑜伽，需預約"),
        (world.xinyi, "product", "月費方案", "單館月費 1,688 元，全館通行 2,288 元"),
        (world.xinyi, "health", "健康管理計畫", "每月一次 InBody 身體組成檢測"),
        (world.banqiao, "news", "板橋泳池整修", "泳池暫停開放，瑜伽照常"),
        (None, "announcement", "年終續約優惠", "續約一年送兩個月"),
    ):
        KnowledgeItem.objects.create(
            chain=world.chain, club=club, kind=kind, title=title, body=body, updated_at=now
        )


def test_words_of_any_length_are_found(world: World) -> None:
    _seed(world)
    assert _titles(world, "哈達瑜伽") == {"週六瑜伽新課"}  # four characters: the trigram index
    assert _titles(world, "瑜伽") == {
        "週六瑜伽新課"
    }  # two: a substring test; banqiao's is not ours
    assert _titles(world, "inbody") == {"健康管理計畫"}
    assert _titles(world, "月費 2,288") == {"月費方案"}  # every word must match
    assert _titles(world, "續約優惠") == {"年終續約優惠"}  # HQ's, for every club
    assert _titles(world, "不存在的東西") == set()
    assert _titles(world, "", kind="health") == {"健康管理計畫"}


def test_an_edit_is_searchable_at_once(world: World) -> None:
    _seed(world)
    item = KnowledgeItem.objects.get(title="月費方案")
    knowledge_save(
        staff=world.bob, item=item, kind="product", title="月費方案", body="學生方案 1,288 元"
    )
    assert _titles(world, "學生方案") == {"月費方案"}
    assert _titles(world, "全館通行") == set()
    item.delete()
    assert _titles(world, "學生方案") == set()


def test_quotes_and_operators_are_plain_text(world: World) -> None:
    _seed(world)
    assert _titles(world, '"瑜伽 OR') == set()
    assert _titles(world, "NEAR(月費") == set()


def test_only_managers_write_and_every_field_is_needed(world: World) -> None:
    for staff, kind, title, body, field in (
        (world.alice, "news", "t", "b", None),
        (world.bob, "gossip", "t", "b", "kind"),
        (world.bob, "news", " ", "b", "title"),
        (world.bob, "news", "t", "", "body"),
    ):
        try:
            knowledge_save(staff=staff, kind=kind, title=title, body=body)
        except ActionError as exc:
            assert exc.field == field
        else:
            raise AssertionError("saved")
    assert not KnowledgeItem.objects.exists()
    hq_item = knowledge_save(staff=world.hq, kind="announcement", title="總部公告", body="內容")
    assert hq_item.club is None
