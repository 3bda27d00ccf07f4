"""Request and response bodies of the REST API (pydantic), one module per resource, kept apart
from the service's dataclasses. Names of registered implementations (selection methods,
retrievers, templates, skill predictors) are checked against their registries at request time
(`fewshot.api.schemas.common`)."""

from .common import (
    PromptPredictorName,
    RegisteredName,
    RetrieverName,
    SelectionMethod,
    SkillPredictorName,
    TemplateName,
    UDRTemplateName,
)
from .examples import (
    EmbedRequest,
    ExamplePublic,
    ExamplesIngest,
    ExamplesPublic,
    ExampleStatus,
    FieldMappingIn,
    IngestReportPublic,
    OnConflict,
    UploadFormat,
)
from .jobs import JobPublic
from .pools import PoolCreate, PoolPublic, PoolsPublic
from .prompts import (
    FeedbackIn,
    PromptDemoPublic,
    PromptLogPublic,
    PromptRequest,
    PromptResponse,
    prompt_demo_public,
)
from .retrieval import (
    DemoPublic,
    FilterIn,
    IndexBuild,
    IndexPublic,
    RetrieveRequest,
    RetrieveResponse,
    demo_public,
    to_filter,
)
from .selections import (
    LabelImportPublic,
    LabelIn,
    LabelProblemPublic,
    LabelsSubmit,
    RoundItemPublic,
    RoundPublic,
    RoundsPublic,
    SelectionCreate,
)
from .skills import (
    PredictIn,
    PredictPublic,
    SkillEditIn,
    SkillEditReportPublic,
    SkillEditsIn,
    ThresholdsIn,
    ThresholdsPublic,
    VocabularyIn,
    VocabularyPublic,
)
from .templates import TemplateIn, TemplatePublic
from .udr import ModelPublic, UDRMineRequest, UDRTrainRequest

__all__ = [
    # common
    "RegisteredName",
    "SelectionMethod",
    "RetrieverName",
    "TemplateName",
    "SkillPredictorName",
    "PromptPredictorName",
    "UDRTemplateName",
    # pools
    "PoolCreate",
    "PoolPublic",
    "PoolsPublic",
    # examples
    "OnConflict",
    "ExampleStatus",
    "UploadFormat",
    "ExamplePublic",
    "ExamplesPublic",
    "FieldMappingIn",
    "ExamplesIngest",
    "IngestReportPublic",
    "EmbedRequest",
    # selections and labels
    "SelectionCreate",
    "RoundItemPublic",
    "RoundPublic",
    "RoundsPublic",
    "LabelIn",
    "LabelsSubmit",
    "LabelProblemPublic",
    "LabelImportPublic",
    # jobs
    "JobPublic",
    # retrieval
    "FilterIn",
    "to_filter",
    "IndexPublic",
    "IndexBuild",
    "RetrieveRequest",
    "DemoPublic",
    "demo_public",
    "RetrieveResponse",
    # prompts
    "FeedbackIn",
    "PromptRequest",
    "TemplateIn",
    "TemplatePublic",
    "PromptDemoPublic",
    "prompt_demo_public",
    "PromptResponse",
    "PromptLogPublic",
    # skills
    "VocabularyPublic",
    "VocabularyIn",
    "SkillEditIn",
    "SkillEditsIn",
    "SkillEditReportPublic",
    "ThresholdsIn",
    "ThresholdsPublic",
    "PredictIn",
    "PredictPublic",
    # udr
    "UDRMineRequest",
    "UDRTrainRequest",
    "ModelPublic",
]
