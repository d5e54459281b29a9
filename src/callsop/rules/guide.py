"""Guidance only: clauses no data can check. The desk shows them as prompts
and training covers them; they are in the catalogue and never scored."""

from __future__ import annotations

from callsop.rules.base import Rule

_SHOWN = "the desk shows it as a prompt; training covers it"
_SHOWN_ZH = "櫃檯畫面會提示；由訓練涵蓋"

RULES = (
    Rule(
        id="guide.prepare-material",
        clause="1.1(5), 2.1(1)",
        title="備妥紙筆與資料",
        sources=("guide",),
        applies="every call",
        checks=_SHOWN,
        applies_zh="所有通話",
        checks_zh=_SHOWN_ZH,
        why="準備好記錄用筆、紙，和所需檔、資料等；座機旁要放好筆、記錄本，和所需檔、資料等。",
    ),
    Rule(
        id="guide.prepare-hard-call",
        clause="1.1(6), 1.3(3)",
        title="難應付的電話先擬對策",
        sources=("guide",),
        applies="hard outbound calls",
        checks=_SHOWN,
        applies_zh="較棘手的撥出電話",
        checks_zh=_SHOWN_ZH,
        why="特殊事情應做好一定的心理應對準備；對難以應付的電話業務，應事先擬好應對辦法再進行撥打。",
    ),
    Rule(
        id="guide.lift-left-write-right",
        clause="2.2(1)",
        title="左手摘機，右手執筆",
        sources=("guide",),
        applies="every incoming call",
        checks=_SHOWN,
        applies_zh="所有來電",
        checks_zh=_SHOWN_ZH,
        why="鈴聲響，左手摘機，右手執筆。",
    ),
    Rule(
        id="guide.know-the-club",
        clause="2.1(2)",
        title="熟悉會館與總部資訊",
        sources=("guide",),
        applies="every call",
        checks=_SHOWN,
        applies_zh="所有通話",
        checks_zh=_SHOWN_ZH,
        why="熟悉會館近期的工作情況；瞭解總部的各項資訊；掌握必要的產品知識；知曉業務流程運行；"
        "精通會員健康管理程式；收集館長需要的資訊和素材。",
    ),
    Rule(
        id="guide.visitor-first",
        clause="2.3(8)",
        title="訪客優先",
        sources=("guide",),
        applies="a visitor and a call at once",
        checks=_SHOWN,
        applies_zh="訪客與來電同時到來時",
        checks_zh=_SHOWN_ZH,
        why="電話及訪客同時到達，要先接待訪客。",
    ),
    Rule(
        id="guide.quiet-near-open-line",
        clause="2.3(9)",
        title="通話時現場保持安靜",
        sources=("guide",),
        applies="while a call is open",
        checks=_SHOWN,
        applies_zh="通話進行中",
        checks_zh=_SHOWN_ZH,
        why="電話沒掛的過程中，人員不得在現場談笑及大聲喧嘩。",
    ),
    Rule(
        id="guide.smile-and-posture",
        clause="3(1), 4(1)",
        title="面帶笑容，端正姿勢",
        sources=("guide",),
        applies="every call",
        checks=_SHOWN,
        applies_zh="所有通話",
        checks_zh=_SHOWN_ZH,
        why="跟客戶在電話中交談時，一定要面帶笑容；要端正姿勢，面帶笑容。",
    ),
    Rule(
        id="guide.no-speakerphone",
        clause="4(10)",
        title="輕拿輕放，不用免提",
        sources=("guide",),
        applies="every call",
        checks=_SHOWN,
        applies_zh="所有通話",
        checks_zh=_SHOWN_ZH,
        why="電話要輕拿輕放，不要使用免提。",
    ),
    Rule(
        id="guide.no-eating",
        clause="4(13)",
        title="通話時不吃喝",
        sources=("guide",),
        applies="every call",
        checks=_SHOWN,
        applies_zh="所有通話",
        checks_zh=_SHOWN_ZH,
        why="打電話時不要吃或喝東西。",
    ),
    Rule(
        id="guide.manners-of-speaking",
        clause="5, 6",
        title="談話方式與交談原則",
        sources=("guide",),
        applies="every call",
        checks=_SHOWN,
        applies_zh="所有通話",
        checks_zh=_SHOWN_ZH,
        why="試探、商量、謙虛、尊敬、讚頌、合作的口吻；態度坦誠、神情專注、話題明確、善解人意、"
        "公正平等、思維敏捷、控制時間、追求結果。",
    ),
)
