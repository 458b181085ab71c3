"""Builds the corpus workbooks from published 分工 documents, cell for cell (run by hand; the files are committed).

    /work/main/.venv/bin/python tests/excel/corpus/build_corpus.py

Each entry is one published document: where it was published, and its sheets as an office would lay them out in
Excel or WPS (title rows, merged headers, section rows, the cells as written). Where the original is a table, the
rows are its rows; where it is a list of tasks with labelled attributions (牵头单位：… 责任单位：…) or bracketed
ones, each task became one row of the usual 分工表 columns, the words unchanged. Only the first rows of long
documents are kept. Two workbooks are also saved as .xls with LibreOffice, as offices still send them.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent


def sheet(ws, rows, merges=(), widths=None):
    for row in rows:
        ws.append(list(row))
    for ref in merges:
        ws.merge_cells(ref)
    for row in ws.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws["A1"].font = Font(bold=True, size=14)
    for letter, width in (widths or {}).items():
        ws.column_dimensions[letter].width = width


DOCUMENTS = []


def document(name, source):
    def register(build):
        DOCUMENTS.append((name, source, build))
        return build

    return register


@document(
    "xuchang-2020-gzbg",
    "许昌市人民政府 许政〔2020〕20号，《政府工作报告》2020年重点工作任务分解（henan.kjzch.com/xuchang/2020-05-28/694791.html）",
)
def xuchang(wb):
    ws = wb.active
    ws.title = "任务分解"
    sheet(
        ws,
        [
            ["许政〔2020〕20号"],
            ["《政府工作报告》提出的2020年重点工作任务分解"],
            ["序号", "重点工作", "责任单位"],
            ["一、抓好常态化疫情防控，全面恢复生产生活秩序"],
            [
                1,
                "坚持“外防输入、内防反弹”总体防控策略，完善常态化疫情防控举措，健全“及时发现、快速处置、精准管控、有效救治”常态化防控机制，巩固疫情防控持续向好态势，保障经济社会秩序全面恢复。",
                "市疫情防控指挥部办公室、市卫生健康委等，各县(市、区)政府(管委会)",
            ],
            [
                2,
                "坚持必要的人员管控和健康监测措施，引导群众做好自我防护。分类实施差异化防控措施，突出重点人群、重点场所、重点单位，强化无症状感染者、境外和中高风险地区来许返许人员管理，严密防范聚集性疫情风险。大力开展爱国卫生运动。",
                "市疫情防控指挥部办公室、市卫生健康委等，各县(市、区)政府(管委会)",
            ],
        ],
        merges=["A1:C1", "A2:C2", "A4:C4"],
        widths={"B": 60, "C": 30},
    )


@document(
    "chuzhou-2020-zdgz",
    "滁州市人民政府关于2020年市政府重点工作及责任分解的通知（www.chuzhou.gov.cn/public/152523227/567017766.html）",
)
def chuzhou(wb):
    ws = wb.active
    ws.title = "2020年重点工作"
    sheet(
        ws,
        [
            ["2020年市政府重点工作及责任分解"],
            ["序号", "重点工作", "牵头负责领导", "牵头责任单位", "协同责任单位"],
            ["一、确保完成全年主要预期目标", None, None, None, None],
            [
                "1.",
                "地区生产总值增长8%以上。",
                "金力",
                "市发展改革委",
                "市经信局、市商务局、市交通局、市农业农村局、滁州经开区管委会、中新苏滁高新区管委会等，各县、市、区政府。",
            ],
            [
                "2.",
                "财政收入增长8%左右。",
                "金力",
                "市财政局",
                "市税务局、滁州海关、市人行、滁州经开区管委会、中新苏滁高新区管委会等，各县、市、区政府。",
            ],
            [
                "3.",
                "固定资产投资增长10%以上。",
                "金力",
                "市发展改革委",
                "市经信局、市住建局、市交通局、市水利局、滁州经开区管委会、中新苏滁高新区管委会等，各县、市、区政府。",
            ],
        ],
        merges=["A1:E1", "A3:E3"],
        widths={"B": 40, "E": 50},
    )


@document(
    "lishan-2023-zdgz",
    "鞍山市立山区人民政府 鞍立政发〔2023〕2号《立山区政府2023年重点工作任务分解和责任分工方案》（www.lishan.gov.cn/html/ASLSQ/202303/0168765895614794.html）",
)
def lishan(wb):
    cover = wb.active
    cover.title = "封面"
    sheet(
        cover,
        [
            ["鞍山市立山区人民政府文件"],
            ["鞍立政发〔2023〕2号"],
            ["立山区人民政府关于印发《立山区政府2023年重点工作任务分解和责任分工方案》的通知"],
        ],
    )
    ws = wb.create_sheet("分工方案")
    sheet(
        ws,
        [
            ["鞍立政发〔2023〕2号"],
            ["立山区政府2023年重点工作任务分解和责任分工方案"],
            ["序号", "工作任务", "牵头单位", "责任单位"],
            ["一、经济社会发展的主要预期目标"],
            ["1.", "努力实现地区生产总值增长6.2%左右。", "区发改局", "立山经济开发区，全区经济运行各专班"],
            ["2.", "规模上工业增加值增长5%左右。", "区工信局", "立山经济开发区"],
            ["3.", "固定资产投资增长15%左右。", "区发改局", "立山经济开发区，各街道、区直各部门"],
            ["4.", "社会消费品零售总额增长9%左右。", "区商务局", "各街道，区市场局"],
            ["5.", "一般公共预算收入增长8%左右。", "区财政局", "立山经济开发区，各街道，税务局"],
            ["6.", "居民收入增长与经济增长基本同步。", "区发改局", "各街道，各相关单位"],
        ],
        merges=["A1:D1", "A2:D2", "A4:D4"],
        widths={"B": 40, "D": 40},
    )


@document(
    "tianjin-yilianti",
    "天津市医疗联合体建设任务（北大法宝 tj.pkulaw.com/lar/302e1e0695ae117a41f2e33c2c2e3978bdfb.html），括注的分工（排在第一位的为牵头部门）转为“责任单位”一列",
)
def tianjin(wb):
    ws = wb.active
    ws.title = "Sheet1"
    sheet(
        ws,
        [
            ["序号", "重点任务", "工作内容", "责任单位"],
            [
                "1",
                "实行医疗联合体网格化管理",
                "制定本市医疗联合体布局规划，实行医疗联合体网格化管理。……完善医疗联合体绩效考核制度，重点考核牵头医院医疗资源下沉及与基层双向转诊情况，促进形成利益、责任、服务、管理“四位一体”。",
                "市卫生计生委、市人力社保局",
            ],
            [
                "2",
                "落实不同医疗机构功能定位",
                "加强人才和学科建设，提高三级医院疑难危重病症诊治能力，逐步减少大医院慢性病人就诊比例。……推进三级医院日间服务和急诊急救建设，实现急慢分治，提升医疗服务效率。",
                "市卫生计生委",
            ],
            [
                "3",
                "完善配套政策促进医疗联合体健康发展",
                "探索将医保基金打包支付给医疗联合体，由其内部自行调配使用，引导形成利益共同、责任共担的医疗联合体。……加快信息化建设，促进医疗联合体内信息互通互享，扩大远程医疗服务覆盖范围。",
                "市卫生计生委、市发展改革委、市财政局、市人力社保局",
            ],
        ],
        widths={"B": 30, "C": 60, "D": 30},
    )


@document(
    "xianyang-2022-fgf",
    "咸阳市2022年深化“放管服”改革优化营商环境工作要点（newton.com.tw 转载全文），括注的分工转为牵头单位 / 责任单位两列，正文中的时限转为“完成时限”",
)
def xianyang(wb):
    ws = wb.active
    ws.title = "工作要点"
    sheet(
        ws,
        [
            ["咸阳市2022年深化“放管服”改革优化营商环境工作要点任务分工"],
            ["序号", "主要任务", "牵头单位", "责任单位", "完成时限"],
            ["一、坚持系统集成，推动审批全链条优化"],
            [
                "1",
                "全面实施行政许可事项清单管理。依据国家和省行政许可事项清单，编制并公布市、县两级行政许可事项清单，将依法设定的行政许可事项全部纳入清单管理，清单之外一律不得违法实施行政许可。",
                "市政府办公室、市行政审批制度改革工作领导小组办公室",
                "市级各有关部门，各县市区政府",
                "2022年10月底前",
            ],
        ],
        merges=["A1:E1", "A3:E3"],
        widths={"B": 60},
    )


@document(
    "tongxin-2023-gzbg",
    "同心县2023年《政府工作报告》任务分解（tongxin.gov.cn/ztzl/2023zfgzbg/rwfj/202303/t20230313_3991682.html），表格逐格照录",
)
def tongxin(wb):
    ws = wb.active
    ws.title = "任务分解"
    sheet(
        ws,
        [
            ["同心县2023年《政府工作报告》任务分解"],
            ["序号", "具体任务", "责任单位", "配合单位", "完成时限"],
            [
                1,
                "全面落实疫情防控“新十条”，抓紧完成方舱医院升级改造亚定点医院，二级以上医疗机构、基层医疗卫生机构发热门诊应设尽设、应开尽开，全面完成老年人群疫苗接种，守好疫情防线；中医院门诊楼建成投运，下马关分院加快建设，改扩建社区卫生服务中心，提升乡镇卫生院，积极争取疾控中心综合楼项目；深入开展爱国卫生运动，广泛开展全民健身活动，举办同心县第四届运动会，备战自治区全运会，创建全国卫生县和自治区健康县。",
                "卫健局、文旅局",
                "各乡镇",
                "方舱医院升级改造亚定点医院，二级以上医疗机构、基层医疗卫生机构发热门诊应设尽设、应开尽开，1月底前完成；其它事项12月底前取得明显成效并长期坚持",
            ],
        ],
        merges=["A1:E1"],
        widths={"B": 70, "E": 40},
    )


@document(
    "lingbi-2021-gzbg",
    "灵璧县卫生健康委员会《县卫健委2021年政府工作报告任务分解》（www.lingbi.gov.cn/public/6626531/154359391.html）",
)
def lingbi(wb):
    ws = wb.active
    ws.title = "任务分解"
    sheet(
        ws,
        [
            ["县卫健委2021年政府工作报告任务分解"],
            ["序号", "任务", "牵头责任单位", "主要协作单位"],
            [
                "1",
                "落实积极应对人口老龄化国家战略，加快发展健康、养老、育幼、家政等服务业，加强公益性、基础性服务业供给，推动生活性服务业向高品质和多样化升级。",
                "县卫健委、县民政局",
                "各乡镇人民政府、经济开发区管委会，县政府有关部门、有关直属单位",
            ],
            [
                "2",
                "加强重大公共卫生安全风险源头防控，切实保障人民群众生命安全",
                "县卫健委",
                "各乡镇人民政府、经济开发区管委会，县政府有关部门、有关直属单位",
            ],
            [
                "3",
                "毫不放松抓好新冠肺炎疫情常态化防控工作，完善疾病预防控制体系和平战结合的疫情防控救治体系。",
                "县卫健委",
                "各乡镇人民政府、经济开发区管委会，县政府有关部门、有关直属单位",
            ],
            [
                "4",
                "创建国家卫生县城。",
                "县卫健委",
                "各乡镇人民政府、经济开发区管委会，县政府有关部门、有关直属单位",
            ],
            [
                "5",
                "树立全周期健康管理理念，推广家庭医生签约服务。补齐公共医疗卫生基础设施短板，加快建设县妇幼保健院、医疗废物集中处置中心、县疾控中心等重点项目。……进一步提升县域医疗服务整体能力。",
                "县卫健委",
                "各乡镇人民政府、经济开发区管委会，县政府有关部门、有关直属单位",
            ],
        ],
        merges=["A1:D1"],
        widths={"B": 60, "D": 40},
    )


@document(
    "minsheng-2024-traditional",
    "某区2024年民生实事项目进展表（mifenjm.com/art/2024/6/28/art_1229798904_58959130.html，页面经繁体转换），表格逐格照录前12行",
)
def minsheng(wb):
    ws = wb.active
    ws.title = "民生實事"
    sheet(
        ws,
        [
            ["序號", "任務項目指標", "責任單位", "進展比例"],
            [1, "為3.078萬60歲以上老年人免費接種流感疫苗。", "區衛生健康局", "20%"],
            [2, "為1.22萬60歲以上重點人群免費開展結直腸癌篩查。", "區衛生健康局", "40%"],
            [3, "在公共場所新增配置自動體外除顫儀115臺。", "區衛生健康局", "80%"],
            [4, "培訓應急救護人員575人以上。", "區紅十字會", "50%"],
            [
                5,
                "實行全省醫保參保人員一地簽約、全省共享基層門診簽約報銷比例(基層醫療機構門診報銷比例≥50%)。",
                "區醫療保障局",
                "市統 項目",
            ],
            [6, "省內異地結算定點醫院開通率達100%。", "區醫療保障局", "100%"],
            [7, "持有居住證的義務教育段隨遷子女就讀公辦學校比例達95%以上。", "區教育局", "70%"],
            [8, "實施10個中小學校“示範食堂”建設行動。", "區市場監管局", "75%"],
            [9, "全面推行長期護理保險制度,參保人數達到37.69萬人以上。", "區醫療保障局", "100%"],
            [
                10,
                "為全區所有適齡女生免費接種二價HPV疫苗,2024年重點為13-14歲女生接種304人。",
                "區衛生健康局",
                "40%",
            ],
            [
                11,
                "加強孤獨症兒童醫療康復救治,孤獨症門診治療享受住院醫療保障水平(兒童孤獨症政策內報銷比例≥60%)。",
                "區醫療保障局",
                "市統 項目",
            ],
            [12, "新增殘疾人就業50人以上。", "區殘聯", "90%"],
        ],
        widths={"B": 60},
    )


def _seed(name):
    import json

    root = Path(__file__).resolve().parents[3] / ".." / "shared" / "seeds"
    for candidate in (root, Path("/work/shared/seeds")):
        path = candidate / f"{name}.gold.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    raise SystemExit(f"seed {name} not found")


@document(
    "pingdingshan-2020-fengong",
    "平办〔2020〕7号《平顶山市深化医药卫生体制改革实施方案》（../shared/seeds），括注的牵头单位/责任单位转为分工表，“说明”工作表在前，两行合并表头",
)
def pingdingshan(wb):
    gold = _seed("pingdingshan-2020-plan")
    note = wb.active
    note.title = "说明"
    sheet(
        note,
        [
            ["填报说明"],
            ["1. 本表由市医改办根据平办〔2020〕7号文件整理。"],
            ["2. 请各牵头单位每季度末报送进展情况。"],
        ],
    )
    ws = wb.create_sheet("任务分工")
    rows = [
        ["附件"],
        [gold["doc_number"]],
        ["平顶山市深化医药卫生体制改革实施方案任务分工表"],
        ["序号", "重点任务", "责任分工", None, "完成时限"],
        [None, None, "牵头单位", "责任单位", None],
    ]
    merges = ["A1:E1", "A2:E2", "A3:E3", "A4:A5", "B4:B5", "C4:D4", "E4:E5"]
    heading = top = None
    for task in gold["tasks"][:9]:
        if task["section"][0] != top:
            top = task["section"][0]
            rows.append([f"{task['path'][0]}、{top}"])
            merges.append(f"A{len(rows)}:E{len(rows)}")
        if task["section"][-1] != heading:
            heading = task["section"][-1]
            rows.append([f"{task['path'][1]}{heading}"])
            merges.append(f"A{len(rows)}:E{len(rows)}")
        rows.append(
            [
                f"{task['path'][-1]}.",
                task["title"],
                "、".join(task["lead_units"]),
                "、".join(
                    task["responsible_units"]
                    + [u.replace("〔", "(").replace("〕", ")") for u in task["county_units"]]
                ),
                "；".join(dict.fromkeys(d["text"] for d in task["deadlines"])),
            ]
        )
    sheet(ws, rows, merges=merges, widths={"B": 30, "C": 16, "D": 40, "E": 16})


@document(
    "shijiazhuang-2020h2-fengong",
    "石政办函〔2020〕32号《石家庄市2020年下半年深化医药卫生体制改革重点工作任务》（../shared/seeds），“（…负责，排在第一位的为牵头部门）”转为“责任单位”一列",
)
def shijiazhuang(wb):
    gold = _seed("shijiazhuang-2020h2-tasks")
    ws = wb.active
    ws.title = "重点工作任务"
    rows = [
        [gold["doc_number"]],
        ["石家庄市2020年下半年深化医药卫生体制改革重点工作任务分工"],
        ["序号", "重点工作任务", "责任单位"],
    ]
    merges = ["A1:C1", "A2:C2"]
    heading = None
    for task in gold["tasks"][:9]:
        if task["section"][-1] != heading:
            heading = task["section"][-1]
            rows.append([f"{task['path'][0]}、{heading}"])
            merges.append(f"A{len(rows)}:C{len(rows)}")
        rows.append(
            [task["path"][-1], task["title"], "、".join(task["lead_units"] + task["responsible_units"])]
        )
    sheet(ws, rows, merges=merges, widths={"B": 40, "C": 50})


AS_XLS = ("tianjin-yilianti", "shijiazhuang-2020h2-fengong")


def main():
    lines = [
        "# 分工表 corpus (tests/excel/test_corpus.py)",
        "",
        "Built by build_corpus.py from these published documents:",
        "",
    ]
    for name, source, build in DOCUMENTS:
        wb = openpyxl.Workbook()
        build(wb)
        path = HERE / f"{name}.xlsx"
        wb.save(path)
        if name in AS_XLS:
            office = shutil.which("libreoffice") or shutil.which("soffice")
            if office is None:
                sys.exit("LibreOffice is needed for the .xls copies")
            subprocess.run(
                [office, "--headless", "--convert-to", "xls", "--outdir", str(HERE), str(path)],
                check=True,
                capture_output=True,
                timeout=120,
            )
            path.unlink()
            name = f"{name}.xls"
        else:
            name = f"{name}.xlsx"
        lines.append(f"- `{name}`: {source}")
    (HERE / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
